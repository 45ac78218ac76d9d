"""The billable requests of each operation and of a heartbeat run on a GCP deployment (``fk cost``).

The deployment's functions are served in this process by functions-framework
(:class:`~faaskeeper_gcp.functions.host.FunctionServer`, at the config's ``functions-endpoint``,
where the emulated Pub/Sub pushes), so :data:`~faaskeeper_gcp.cost.metering.METER` sees the requests of
the client and of the functions alike: Firestore documents, Pub/Sub publishes and pushes, and the
invocations with their billed milliseconds. Before and after each call the measurement waits
until no function has run for a moment. Without a functions endpoint (a real project, whose
Cloud Functions run the functions) only the client's requests are counted.

:func:`measure_load` counts the same under concurrent load; each push is one message to one
invocation, so Pub/Sub's batches are always of one.

A heartbeat run is what Cloud Scheduler starts: a tick published to the heartbeat's topic and
pushed to the function; the server's own schedule is off meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from faaskeeper.api.cost import HeartbeatMeasurement, LoadMeasurement, Measurement
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.measure import Probe, measure_calls, measure_sessions
from faaskeeper.measure import measure_load as drive_load
from faaskeeper.metering import Key, difference
from faaskeeper_gcp.cost.metering import METER
from faaskeeper_gcp.functions.host import FunctionServer, endpoint_in_use
from faaskeeper_gcp.settings import GcpSettings

#: Seconds to wait for the functions to finish a call's work.
IDLE_TIMEOUT = 30.0
_HEARTBEAT = ("functions:heartbeat", "invocations")


@contextmanager
def serving(config: Config) -> Iterator[FunctionServer | None]:
    """The deployment's functions served here for the block (None without a functions endpoint)."""
    endpoint = GcpSettings.from_config(config).functions_endpoint
    if endpoint is None:
        yield None
        return
    if endpoint_in_use(endpoint):
        raise ProviderException(
            f"Something already serves the functions at {endpoint} (python -m faaskeeper_gcp.emulator?): "
            "fk cost serves them itself to count their requests; stop it first"
        )
    server = FunctionServer(config, schedule=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _idle(server: FunctionServer | None) -> None:
    if server is not None and not server.wait_idle(IDLE_TIMEOUT):
        raise ProviderException(f"The functions did not finish within {IDLE_TIMEOUT:.0f} s")


def _billed(counted: Mapping[Key, int]) -> dict[Key, int]:
    """The billed counters, without the per-function ones that repeat the totals."""
    return {key: n for key, n in counted.items() if ":" not in key[0]}


def _probe(server: FunctionServer | None) -> Probe[dict[Key, int]]:
    """What calls bill, with the functions ``server`` serves."""
    return Probe(
        idle=lambda: _idle(server),
        mark=METER.snapshot,
        billed=lambda before: _billed(difference(METER.snapshot(), before)),
    )


def measure_operations(config: Config, *, repetitions: int = 10, size: int = 100, timeout: float = 10.0) -> Measurement:
    """Measure each operation ``repetitions`` times on ``config``'s deployment, its functions served here."""
    with serving(config) as server:
        return measure_calls(config, repetitions=repetitions, size=size, timeout=timeout, probe=_probe(server))


def measure_load(
    config: Config,
    *,
    clients: int,
    rate: float,
    seconds: float,
    read_share: float = 0.9,
    size: int = 100,
    timeout: float = 10.0,
) -> LoadMeasurement:
    """``clients`` sessions calling get_data and set_data at ``rate`` calls a second in all for
    ``seconds`` on ``config``'s deployment, its functions served here."""
    with serving(config) as server:
        return drive_load(
            config,
            clients=clients,
            rate=rate,
            seconds=seconds,
            read_share=read_share,
            size=size,
            timeout=timeout,
            probe=_probe(server),
            meter=METER,
        )


def measure_heartbeat(config: Config, *, low: int = 1, high: int = 4, timeout: float = 10.0) -> HeartbeatMeasurement:
    """Run the heartbeat once with ``low`` sessions open and once with ``high``; split its requests."""
    with serving(config) as server:
        if server is None:
            raise ProviderException("The heartbeat can only be measured with its functions served here")

        def run_once() -> dict[Key, int]:
            _idle(server)
            before = METER.snapshot()
            server.tick()
            deadline = time.monotonic() + IDLE_TIMEOUT
            while difference(METER.snapshot(), before).get(_HEARTBEAT, 0) < 1:
                if time.monotonic() > deadline:
                    raise ProviderException(f"The heartbeat function did not run within {IDLE_TIMEOUT:.0f} s")
                time.sleep(0.01)
            _idle(server)
            return _billed(difference(METER.snapshot(), before))

        return measure_sessions(config, run_once, low=low, high=high, timeout=timeout)
