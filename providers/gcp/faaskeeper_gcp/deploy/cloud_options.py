"""Tunables of a GCP deployment's Cloud Functions and schedule, read from the ``"gcp"`` section.

.. code-block:: json

    "gcp": {"project": "my-project", "region": "us-east1", "service-account": "fk@my-project.iam.gserviceaccount.com",
            "function-memory": 512, "function-timeout": 540}

All are optional where the functions run under a local functions-framework host
(``functions-endpoint`` given); deploying them to a real project needs ``service-account``: the
identity the functions run as, and the one Pub/Sub signs its pushes to them with.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException

#: Cloud Scheduler runs a job at most once a minute.
MIN_SCHEDULE_MINUTES = 1
#: Cloud Run functions: the vCPUs that come with a memory size (MiB), up to the smallest size at
#: least as large as the function's.
VCPUS_BY_MEMORY = ((128, 0.083), (256, 0.167), (512, 0.333), (1024, 0.583), (2048, 1.0), (4096, 2.0), (32768, 8.0))
_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]$")
_ACCOUNT = re.compile(r"^[^@\s]+@[^@\s]+\.gserviceaccount\.com$")


@dataclass(frozen=True)
class DeployOptions:
    region: str = "us-east1"
    #: MiB of each function instance; its vCPUs follow (:data:`VCPUS_BY_MEMORY`).
    memory: int = 512
    #: Seconds a function may run (shorter than the push subscriptions' 600 s ack deadline).
    timeout: int = 540
    #: The functions' identity, and the one Pub/Sub signs pushes to them with (OIDC).
    service_account: str | None = None
    runtime: str = "python312"
    #: Minutes between the heartbeat's runs: ``heartbeat-frequency`` rounded up to whole minutes.
    heartbeat_minutes: int = 1

    @property
    def vcpus(self) -> float:
        for memory, vcpus in VCPUS_BY_MEMORY:
            if self.memory <= memory:
                return vcpus
        return VCPUS_BY_MEMORY[-1][1]

    @property
    def schedule(self) -> str:
        """The heartbeat's cron schedule: every ``heartbeat_minutes`` minutes (hours past 59 minutes).

        Cron steps restart each hour (or day), so where the step does not divide it the last gap
        is shorter, never longer."""
        if self.heartbeat_minutes < 60:
            return f"*/{self.heartbeat_minutes} * * * *"
        hours = math.ceil(self.heartbeat_minutes / 60)
        return f"0 */{hours} * * *" if hours < 24 else "0 0 * * *"

    @staticmethod
    def from_config(config: Config) -> DeployOptions:
        section = config.provider_section
        region = section.get("region", DeployOptions.region)
        if not isinstance(region, str) or not _REGION.match(region):
            raise ConfigurationException(
                f"Config key 'gcp.region' must be a region such as \"us-east1\", got {region!r}"
            )
        account = section.get("service-account")
        if account is not None and (not isinstance(account, str) or not _ACCOUNT.match(account)):
            raise ConfigurationException(
                "Config key 'gcp.service-account' must be a service account's email "
                f'("NAME@PROJECT.iam.gserviceaccount.com"), got {account!r}'
            )
        runtime = section.get("runtime", DeployOptions.runtime)
        if runtime not in ("python311", "python312"):
            raise ConfigurationException(
                f'Config key \'gcp.runtime\' must be "python311" or "python312", got {runtime!r}'
            )
        return DeployOptions(
            region=region,
            memory=_integer(section, "function-memory", DeployOptions.memory, 128, 32768),
            timeout=_integer(section, "function-timeout", DeployOptions.timeout, 1, 540),
            service_account=account,
            runtime=runtime,
            heartbeat_minutes=max(MIN_SCHEDULE_MINUTES, math.ceil(config.heartbeat_frequency / 60)),
        )


def _integer(section: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigurationException(f"Config key 'gcp.{key}' must be an integer from {low} to {high}, got {value!r}")
    return int(value)
