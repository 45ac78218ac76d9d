"""Deployment tunables read from the config's ``"aws"`` section: function sizes, retries, schedule.

All are optional; the defaults suit a real AWS deployment. Tests shorten the timeouts so a
message that a function failed becomes visible again quickly.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException

#: Lowercase letters, digits and inner hyphens: every resource name (buckets included) accepts it.
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
#: Keeps ``faaskeeper-<name>-client-<session>.fifo`` under SQS's 80 and bucket names under 63.
MAX_DEPLOYMENT_NAME = 32

#: EventBridge schedules have one-minute granularity.
MIN_SCHEDULE_MINUTES = 1


@dataclass(frozen=True)
class DeployOptions:
    #: Receives of a message before SQS moves it to the dead-letter queue.
    max_receive_count: int = 5
    #: Seconds the writer and distributor may run per batch.
    function_timeout: int = 30
    #: Seconds the heartbeat may run (it pings every session).
    heartbeat_timeout: int = 60
    memory: int = 512
    #: The queues' visibility timeout; AWS requires at least the consuming function's timeout
    #: and recommends six times it, so a batch retried after a throttle is not redelivered early.
    visibility_timeout: int = 180
    #: Minutes between heartbeat runs.
    heartbeat_minutes: int = 1

    @property
    def schedule(self) -> str:
        unit = "minute" if self.heartbeat_minutes == 1 else "minutes"
        return f"rate({self.heartbeat_minutes} {unit})"

    @staticmethod
    def from_config(config: Config) -> DeployOptions:
        check_deployment_name(config.deployment_name)
        section = config.provider_section
        timeout = _integer(section, "function-timeout", 30, 1, 900)
        visibility = _integer(section, "visibility-timeout", 6 * timeout, 0, 43200)
        if visibility < timeout:
            raise ConfigurationException(
                f"Config key 'aws.visibility-timeout' ({visibility}) must be at least 'aws.function-timeout' "
                f"({timeout}): SQS would redeliver messages that a function is still processing"
            )
        return DeployOptions(
            max_receive_count=_integer(section, "max-receive-count", 5, 1, 1000),
            function_timeout=timeout,
            heartbeat_timeout=_integer(section, "heartbeat-timeout", 60, 1, 900),
            memory=_integer(section, "function-memory", 512, 128, 10240),
            visibility_timeout=visibility,
            heartbeat_minutes=max(MIN_SCHEDULE_MINUTES, math.ceil(config.heartbeat_frequency / 60)),
        )


def check_deployment_name(name: str) -> None:
    if not _NAME.match(name) or len(name) > MAX_DEPLOYMENT_NAME:
        raise ConfigurationException(
            f"Config key 'deployment-name' must be 1-{MAX_DEPLOYMENT_NAME} lowercase letters, digits and "
            f"inner hyphens on AWS (it names buckets, queues and functions), got {name!r}"
        )


def _integer(section: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationException(f"Config key 'aws.{key}' must be an integer from {low} to {high}, got {value!r}")
    return int(value)
