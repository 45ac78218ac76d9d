"""The billable requests of one heartbeat run, measured against a deployment (``fk cost``).

The heartbeat function runs on a schedule whatever the load, and pings every session: its cost is
``fixed + per_session * sessions`` per run. This measures both from the requests
:data:`faaskeeper_aws.cost.metering.METER` counts while the deployment's heartbeat handler is invoked
once with ``low`` and once with ``high`` client sessions open (the functions run in the Lambda
emulator, as in :mod:`faaskeeper_aws.cost.measure`; their own schedule is stopped meanwhile).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter

from faaskeeper.api.cost import HeartbeatMeasurement
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.measure import measure_sessions
from faaskeeper.metering import Key, Meter, difference
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.functions.deployed import deployed_functions, local_functions
from faaskeeper_aws.functions.host import LambdaEmulator, ScheduledTrigger
from faaskeeper_aws.settings import AwsSettings

__all__ = ["SETTLE_SECONDS", "HeartbeatMeasurement", "measure_heartbeat"]

#: Never: the heartbeat's own schedule while measuring (it is invoked by hand instead).
_NO_SCHEDULE = 1e9
IDLE_TIMEOUT = 30.0
#: Longer than the emulator's long polls (1 s) and the request that makes one: a stopped
#: emulator's pollers finish the long poll they are in and drop what it returns.
SETTLE_SECONDS = 2.0


def _emulator(config: Config, settings: AwsSettings, functions: str, meter: Meter) -> LambdaEmulator:
    if functions == "deployed":
        return deployed_functions(settings, heartbeat_interval=_NO_SCHEDULE, meter=meter)
    if functions == "local":
        made = local_functions(config, settings)
        schedules = [dataclasses.replace(s, interval=_NO_SCHEDULE) for s in made.schedules]
        return LambdaEmulator(settings, made.queues, schedules, meter=meter)
    raise ValueError(f"functions must be 'deployed' or 'local', got {functions!r}")


def _run_once(emulator: LambdaEmulator, trigger: ScheduledTrigger, poller: Meter) -> Counter[Key]:
    if not emulator.wait_idle(IDLE_TIMEOUT):
        raise ProviderException(f"The functions did not finish within {IDLE_TIMEOUT:.0f} s")
    before, polled = METER.snapshot(), poller.snapshot()
    failures = len(emulator.errors)
    emulator.invoke_scheduled(trigger)
    if len(emulator.errors) > failures:
        function, err = emulator.errors[-1]
        raise ProviderException(f"The heartbeat function {function} failed: {type(err).__name__}: {err}")
    if not emulator.wait_idle(IDLE_TIMEOUT):
        raise ProviderException(f"The functions did not finish within {IDLE_TIMEOUT:.0f} s")
    counted = Counter({k: n for k, n in difference(METER.snapshot(), before).items() if not k[0].startswith("lambda")})
    ran = difference(poller.snapshot(), polled)
    for key in (("lambda", "Invoke"), ("lambda", "Invoke.ms")):
        if ran.get(key):
            counted[key] = ran[key]
    return counted


def measure_heartbeat(
    config: Config,
    *,
    low: int = 1,
    high: int = 4,
    functions: str = "deployed",
    timeout: float = 10.0,
    settle: float = SETTLE_SECONDS,
) -> HeartbeatMeasurement:
    """Invoke the heartbeat once with ``low`` sessions open and once with ``high``; split its requests.

    ``functions``: ``"deployed"`` (the stack's functions, on an emulator only) or ``"local"``
    (this package's handlers on the deployment's queues, for deployments made without a stack).
    ``settle``: seconds to wait first, for the pollers of an emulator stopped just before."""
    if not 0 <= low < high:
        raise ValueError(f"need 0 <= low < high sessions, got {low} and {high}")
    settings = AwsSettings.from_config(config)
    poller = Meter()
    # The pollers of an emulator stopped just before (fk cost's measurement of the operations)
    # drop what their last long poll returns: let those polls end before this one's clients write.
    time.sleep(settle)
    emulator = _emulator(config, settings, functions, poller)
    if not emulator.schedules:
        raise ProviderException(f"Deployment {config.deployment_name!r} has no heartbeat schedule to measure")
    trigger = emulator.schedules[0]
    with emulator:
        return measure_sessions(
            config, lambda: _run_once(emulator, trigger, poller), low=low, high=high, timeout=timeout
        )
