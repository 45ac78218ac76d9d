"""Cloud Functions entry points: ``writer``, ``distributor`` and ``heartbeat`` (CloudEvent signature).

Each is fed by the push subscription of its own topic (the heartbeat's topic by a schedule).
Thin adapters from the CloudEvent to :class:`faaskeeper_gcp.functions.Functions`: each instance
builds the deployment's parts once from ``FK_CONFIG`` (the client config as JSON), read through
:func:`faaskeeper.protocol.environment.getenv`, and keeps them for later invocations, cached per
config so that one local host can serve several deployments. A function that returns
acknowledges the message; one that raises makes functions-framework answer 500, and Pub/Sub
redelivers (after the subscription's ``max_delivery_attempts``, into its dead-letter topic).
Every invocation, and the push that delivered it, is counted in :data:`faaskeeper_gcp.metering.METER`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import functions_framework
from cloudevents.http import CloudEvent

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.protocol.environment import getenv
from faaskeeper.protocol.settings import FaultHook
from faaskeeper_gcp.functions import Functions
from faaskeeper_gcp.metering import METER, count_delivery
from faaskeeper_gcp.names import ENV_CONFIG

log = logging.getLogger("faaskeeper.gcp.handlers")
if os.environ.get("K_SERVICE"):
    # On Cloud Functions (Cloud Run sets K_SERVICE) FaaSKeeper's functions log at INFO. Imported
    # anywhere else (the local function host, fk cost, fk bench), the host process keeps its level.
    logging.getLogger("faaskeeper").setLevel(logging.INFO)

T = TypeVar("T")

_instances: dict[str, Functions] = {}
_guard = threading.Lock()

#: Called at each step of the functions built from now on; tests set it to make a function die
#: (raise :class:`~faaskeeper.protocol.settings.FunctionCrash`) at a step, as an instance can.
faults: FaultHook | None = None


def functions() -> Functions:
    """This instance's functions for the deployment ``FK_CONFIG`` names (built on first use)."""
    raw = getenv(ENV_CONFIG)
    if not raw:
        raise ConfigurationException(f"The function's environment lacks {ENV_CONFIG} (the client config as JSON)")
    with _guard:
        built = _instances.get(raw)
        if built is None:
            try:
                config = Config.deserialize(json.loads(raw))
            except ValueError as err:
                raise ConfigurationException(f"{ENV_CONFIG} is not valid JSON: {err}") from err
            built = Functions.open(config, faults)
            _instances[raw] = built
        return built


def _metered(name: str, cloud_event: CloudEvent, call: Callable[[], T]) -> T:
    count_delivery(cloud_event.data)
    started = time.monotonic()
    try:
        return call()
    finally:
        # Cloud Functions bills in 100 ms increments of instance time.
        billed = max(100, -(-int((time.monotonic() - started) * 1000) // 100) * 100)
        for service in ("functions", f"functions:{name}"):
            METER.add(service, "invocations")
            METER.add(service, "ms", billed)


# Registered as CloudEvent functions whatever the platform's signature type: on Cloud Functions
# they have no trigger of their own (an HTTP function), and functions-framework converts the raw
# Pub/Sub pushes it receives into CloudEvents, as it does under the local host.
@functions_framework.cloud_event
def writer(cloud_event: CloudEvent) -> None:
    _metered("writer", cloud_event, lambda: functions().on_writer(cloud_event.data))


@functions_framework.cloud_event
def distributor(cloud_event: CloudEvent) -> None:
    _metered("distributor", cloud_event, lambda: functions().on_distributor(cloud_event.data))


@functions_framework.cloud_event
def heartbeat(cloud_event: CloudEvent) -> None:
    report = _metered("heartbeat", cloud_event, lambda: functions().on_heartbeat())
    if report.expired:
        log.info("expired sessions: %s", ", ".join(report.expired))
