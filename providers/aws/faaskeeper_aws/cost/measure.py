"""The billable requests of each client operation, measured against a deployment (``fk cost``).

:func:`measure_operations` runs the deployment's functions in the Lambda emulator in this process
(so :data:`~faaskeeper_aws.cost.metering.METER` sees the client's requests and the functions' alike),
and calls each operation ``repetitions`` times through :class:`FaaSKeeperClient`, one at a time,
waiting before and after each call until the functions are idle. It creates nodes under a fresh
``/fk-cost-<random>`` node and removes them.

What is counted per call:

* every request of the client and of the functions (``METER``);
* the emulator's invocations and billed milliseconds (``("lambda", "Invoke")``, ``"Invoke.ms"``),
  the watch function's among them when a write notifies more than ``watch-fanout`` clients;
* for Lambda's SQS poller, which is billed as SQS requests: one ``ReceiveMessage`` per invocation
  (the receive that returned its batch) and the ``DeleteMessageBatch`` calls it made. The
  poller's empty long polls are not counted: they depend on time, not on operations (20 s long
  polls of an idle queue cost some cents a month per queue), nor are the emulator's own queue
  depth checks, which Lambda does not make.

:func:`measure_load` counts the same under load (:func:`faaskeeper.measure.measure_load`), and the
messages of each batch the emulator hands the writer and the distributor.

The heartbeat function is not run while measuring (it depends on time and sessions, not on
operations).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

from faaskeeper.api.cost import OPERATIONS, WRITES, LoadMeasurement, Measurement
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.measure import Probe, measure_calls
from faaskeeper.measure import measure_load as drive_load
from faaskeeper.metering import Key, Meter, difference
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.functions.deployed import deployed_functions, local_functions
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.settings import AwsSettings

__all__ = [
    "IDLE_TIMEOUT",
    "OPERATIONS",
    "WRITES",
    "LoadMeasurement",
    "Measurement",
    "measure_load",
    "measure_operations",
]

#: Seconds to wait for the functions to finish a call's work.
IDLE_TIMEOUT = 30.0
#: Never: the heartbeat's schedule while measuring.
_NO_HEARTBEAT = 1e9


def _emulator(config: Config, settings: AwsSettings, functions: str, meter: Meter) -> LambdaEmulator | None:
    if functions == "none":
        return None
    if functions == "deployed":
        return deployed_functions(settings, heartbeat_interval=_NO_HEARTBEAT, meter=meter)
    if functions == "local":
        # The package's handlers on the deployment's queues (a deployment without a stack).
        local = local_functions(config, settings)
        return LambdaEmulator(settings, local.queues, (), invoked=local.invoked, meter=meter)
    raise ValueError(f"functions must be 'deployed', 'local' or 'none', got {functions!r}")


@contextmanager
def _probe(config: Config, functions: str) -> Iterator[Probe[tuple[dict[Key, int], dict[Key, int]]]]:
    """What the calls of the block bill, the functions run as ``functions`` says (see
    :func:`measure_operations`) while it lasts."""
    settings = AwsSettings.from_config(config)
    poller = Meter()
    emulator = _emulator(config, settings, functions, poller)
    with ExitStack() as running:
        if emulator is not None:
            running.enter_context(emulator)
        yield Probe(
            idle=lambda: _idle(emulator),
            mark=lambda: (METER.snapshot(), poller.snapshot()),
            billed=lambda before: _billed(
                difference(METER.snapshot(), before[0]),
                difference(poller.snapshot(), before[1]),
                [f.function for f in emulator.invoked] if emulator is not None else [],
            ),
        )


def measure_operations(
    config: Config, *, repetitions: int = 10, size: int = 100, functions: str = "deployed", timeout: float = 10.0
) -> Measurement:
    """Measure each operation of :data:`OPERATIONS` ``repetitions`` times on ``config``'s deployment.

    ``functions``: ``"deployed"`` runs the functions the stack deployed (taking over their event
    source mappings, so only on an emulator); ``"local"`` runs this package's handlers on the
    deployment's queues (for deployments made without a stack); ``"none"`` runs no functions (on
    real AWS, whose Lambda runs them): then only the client's requests are counted."""
    if repetitions < 1:
        raise ValueError("repetitions must be at least 1")
    with _probe(config, functions) as probe:
        return measure_calls(config, repetitions=repetitions, size=size, timeout=timeout, probe=probe)


def measure_load(
    config: Config,
    *,
    clients: int,
    rate: float,
    seconds: float,
    read_share: float = 0.9,
    size: int = 100,
    functions: str = "deployed",
    timeout: float = 10.0,
) -> LoadMeasurement:
    """``clients`` sessions calling get_data and set_data at ``rate`` calls a second in all for
    ``seconds`` on ``config``'s deployment, its functions run as in :func:`measure_operations`."""
    with _probe(config, functions) as probe:
        return drive_load(
            config,
            clients=clients,
            rate=rate,
            seconds=seconds,
            read_share=read_share,
            size=size,
            timeout=timeout,
            probe=probe,
            meter=METER,
        )


def _idle(emulator: LambdaEmulator | None) -> None:
    if emulator is not None and not emulator.wait_idle(IDLE_TIMEOUT):
        raise ProviderException(f"The functions did not finish within {IDLE_TIMEOUT:.0f} s")


def _billed(requests: Mapping[Key, int], polled: Mapping[Key, int], invoked: list[str]) -> dict[Key, int]:
    """What one call was billed: its requests, the invocations and the poller's per-batch requests
    (none for the ``invoked`` functions, which a function invokes rather than a queue)."""
    out = {key: n for key, n in requests.items() if not key[0].startswith("lambda")}
    invocations = polled.get(("lambda", "Invoke"), 0)
    if invocations:
        out[("lambda", "Invoke")] = invocations
        out[("lambda", "Invoke.ms")] = polled.get(("lambda", "Invoke.ms"), 0)
        batches = invocations - sum(polled.get((f"lambda:{name}", "Invoke"), 0) for name in invoked)
        out[("sqs", "ReceiveMessage")] = out.get(("sqs", "ReceiveMessage"), 0) + batches
    deletes = polled.get(("sqs", "DeleteMessageBatch"), 0)
    if deletes:
        out[("sqs", "DeleteMessageBatch")] = out.get(("sqs", "DeleteMessageBatch"), 0) + deletes
    return out
