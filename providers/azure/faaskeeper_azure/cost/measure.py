"""The billable requests of each operation and of a heartbeat run on an Azure deployment (``fk cost``).

The deployment's functions are served in this process by the function host
(:class:`~faaskeeper_azure.functions.host.FunctionHost`, polling the emulated Storage Queues), so
:data:`~faaskeeper_azure.cost.metering.METER` sees the requests of the client and of the functions
alike: Cosmos DB request units, blob and queue operations, and the executions with their billed
milliseconds. Of the host's own queue requests (its :attr:`~FunctionHost.meter`) a call is billed
those Azure's host makes for the messages the call caused: the receive that returned each
message, its delete (or release, or move to the poison queue). Its polls of empty queues and its
queue depth checks are left out: they depend on time, not on operations (the emulated host polls
every 50 ms, Azure's backs off to a poll a minute; :meth:`Prices.idle_units
<faaskeeper_azure.cost.pricing.Prices.idle_units>` estimates them). Before and after each call
the measurement waits until the queues have been empty for a moment. Without the emulators (a
real subscription, whose Function App runs the functions) only the client's requests are counted.

:func:`measure_load` counts the same under concurrent load; a queue trigger is handed one message
per execution, so the batches are always of one.

A heartbeat run is what the timer trigger starts: the heartbeat function executed once; the
host's own timer is off meanwhile.
"""

from __future__ import annotations

import socket
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from azure.functions.timer import TimerRequest

from faaskeeper.api.cost import HeartbeatMeasurement, LoadMeasurement, Measurement
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.measure import Probe, measure_calls, measure_sessions
from faaskeeper.measure import measure_load as drive_load
from faaskeeper.metering import Key, difference
from faaskeeper_azure.cost.metering import METER
from faaskeeper_azure.functions.function_app import app
from faaskeeper_azure.functions.host import FunctionHost, bindings

#: Seconds to wait for the functions to finish a call's work.
IDLE_TIMEOUT = 30.0
#: The host's requests billed per message it handled (see the module's docstring).
HOST_BILLED = frozenset({("queue", "GetMessages"), ("queue", "DeleteMessage"), ("queue", "UpdateMessage")})

Snapshots = tuple[dict[Key, int], dict[Key, int]]


def endpoint_in_use(endpoint: str) -> bool:
    """Whether something answers at ``endpoint``'s host and port."""
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.hostname is None or parsed.port is None:
        return False
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=0.5):
            return True
    except OSError:
        return False


def functions_endpoint(config: Config) -> str | None:
    endpoint = config.provider_section.get("functions-endpoint")
    return endpoint if isinstance(endpoint, str) and endpoint else None


@contextmanager
def hosting(config: Config, *, functions: bool = True) -> Iterator[FunctionHost | None]:
    """The deployment's functions served here for the block, its timer off (None unless ``functions``)."""
    if not functions:
        yield None
        return
    endpoint = functions_endpoint(config)
    if endpoint is not None and endpoint_in_use(endpoint):
        raise ProviderException(
            f"Something already serves the functions at {endpoint} (python -m faaskeeper_azure.emulator?): "
            "fk cost serves them itself to count their requests; stop it first"
        )
    host = FunctionHost(config, schedule=False)
    host.start()
    try:
        yield host
    finally:
        host.stop()


def _idle(host: FunctionHost | None) -> None:
    if host is not None and not host.wait_idle(IDLE_TIMEOUT):
        raise ProviderException(f"The functions did not finish within {IDLE_TIMEOUT:.0f} s")


def _mark(host: FunctionHost | None) -> Snapshots:
    return METER.snapshot(), host.meter.snapshot() if host is not None else {}


def billed(requests: Mapping[Key, int], hosted: Mapping[Key, int]) -> dict[Key, int]:
    """What a call was billed: its requests (without the per-function counters, which repeat the
    totals) and the host's requests for the messages it handled."""
    out = {key: n for key, n in requests.items() if ":" not in key[0]}
    for key, n in hosted.items():
        if key in HOST_BILLED:
            out[key] = out.get(key, 0) + n
    return out


def _since(host: FunctionHost | None, before: Snapshots) -> dict[Key, int]:
    after = _mark(host)
    return billed(difference(after[0], before[0]), difference(after[1], before[1]))


def _probe(host: FunctionHost | None) -> Probe[Snapshots]:
    """What calls bill, with the functions ``host`` serves."""
    return Probe(idle=lambda: _idle(host), mark=lambda: _mark(host), billed=lambda before: _since(host, before))


def measure_operations(
    config: Config, *, repetitions: int = 10, size: int = 100, functions: bool = True, timeout: float = 10.0
) -> Measurement:
    """Measure each operation ``repetitions`` times on ``config``'s deployment, its functions served
    here unless not ``functions``."""
    with hosting(config, functions=functions) as host:
        return measure_calls(config, repetitions=repetitions, size=size, timeout=timeout, probe=_probe(host))


def measure_load(
    config: Config,
    *,
    clients: int,
    rate: float,
    seconds: float,
    read_share: float = 0.9,
    size: int = 100,
    functions: bool = True,
    timeout: float = 10.0,
) -> LoadMeasurement:
    """``clients`` sessions calling get_data and set_data at ``rate`` calls a second in all for
    ``seconds`` on ``config``'s deployment, its functions served here unless not ``functions``."""
    with hosting(config, functions=functions) as host:
        return drive_load(
            config,
            clients=clients,
            rate=rate,
            seconds=seconds,
            read_share=read_share,
            size=size,
            timeout=timeout,
            probe=_probe(host),
            meter=METER,
        )


def run_heartbeat(host: FunctionHost) -> None:
    """Execute the heartbeat function once, as its timer trigger does."""
    timer = next((b for b in bindings(app) if b.trigger == "timerTrigger"), None)
    if timer is None:
        raise ProviderException("the function app has no timer-triggered heartbeat")
    argument = timer.fields["name"]
    host.invoke(lambda: timer.function(**{argument: TimerRequest(past_due=False)}), timer.name)


def measure_heartbeat(config: Config, *, low: int = 1, high: int = 4, timeout: float = 10.0) -> HeartbeatMeasurement:
    """Run the heartbeat once with ``low`` sessions open and once with ``high``; split its requests."""
    with hosting(config) as host:
        assert host is not None

        def run_once() -> dict[Key, int]:
            _idle(host)
            before = _mark(host)
            run_heartbeat(host)
            _idle(host)
            return _since(host, before)

        return measure_sessions(config, run_once, low=low, high=high, timeout=timeout)
