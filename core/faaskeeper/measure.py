"""Measuring the billable requests of each operation and of a heartbeat run, on any provider.

The providers' cost models (:class:`faaskeeper.api.cost.CostModel`) run their deployment's
functions and know how to count what they bill; these loops are the part they share: which
calls are made, in what order, and how a heartbeat run's requests are split into a fixed part and
a part per session, and how concurrent sessions are driven at a rate (:func:`measure_load`).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Generic, TypeVar

from faaskeeper.api.cost import OPERATIONS, HeartbeatMeasurement, LoadMeasurement, Measurement
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper.metering import BATCHES, READS, Key, Meter, batch_sizes, difference

Mark = TypeVar("Mark")


@dataclass(frozen=True)
class Probe(Generic[Mark]):
    """How a provider counts what calls billed: ``idle()`` waits until the functions it runs have
    finished; what was billed since ``m = mark()`` is ``billed(m)``."""

    idle: Callable[[], None]
    mark: Callable[[], Mark]
    billed: Callable[[Mark], Mapping[Key, int]]


def measure_calls(
    config: Config,
    *,
    repetitions: int,
    size: int,
    probe: Probe[Mark],
    timeout: float = 10.0,
) -> Measurement:
    """Call each operation of :data:`~faaskeeper.api.cost.OPERATIONS` ``repetitions`` times, one at a time, on nodes
    under a fresh ``/fk-cost-<random>`` node (removed afterwards).

    Before and after each call ``probe.idle()`` waits until the functions have finished; what the
    call billed is ``probe.billed(m)`` with ``m = probe.mark()`` taken just before it."""
    if repetitions < 1:
        raise ValueError("repetitions must be at least 1")
    base = f"/fk-cost-{uuid.uuid4().hex[:8]}"
    data = bytes(size)
    totals: dict[str, Counter[Key]] = {name: Counter() for name in OPERATIONS}
    with FaaSKeeperClient(config, timeout=timeout) as client:
        calls: dict[str, Callable[[int], object]] = {
            "create": lambda i: client.create(f"{base}/n{i}", data),
            "set_data": lambda i: client.set_data(f"{base}/n{i}", data),
            "get_data": lambda i: client.get_data(f"{base}/n{i}"),
            "exists": lambda i: client.exists(f"{base}/n{i}"),
            "get_children": lambda i: client.get_children(base),
            "delete": lambda i: client.delete(f"{base}/n{i}"),
        }
        client.create(base, b"")
        try:
            for name in OPERATIONS:
                for i in range(repetitions):
                    probe.idle()
                    before = probe.mark()
                    calls[name](i)
                    probe.idle()
                    totals[name].update(probe.billed(before))
        finally:
            _remove(client, base)
    return Measurement(
        repetitions=repetitions,
        size=size,
        requests={name: {key: n / repetitions for key, n in sorted(c.items())} for name, c in totals.items()},
    )


#: The operations of a load: a read and a write of one node.
LOAD_OPERATIONS: tuple[str, str] = ("set_data", "get_data")
#: Errors of failed calls kept for the report.
_ERRORS_KEPT = 5


def is_read(call: int, read_share: float) -> bool:
    """Whether call number ``call`` of a session is a read: of any run of calls, ``read_share`` of
    them, spread evenly (with 0.9, one write then nine reads)."""
    # The epsilon keeps 10 * 0.9 from flooring to 8.
    return math.floor((call + 1) * read_share + 1e-9) > math.floor(call * read_share + 1e-9)


def measure_load(
    config: Config,
    *,
    clients: int,
    rate: float,
    seconds: float,
    read_share: float,
    size: int,
    probe: Probe[Mark],
    meter: Meter,
    timeout: float = 10.0,
) -> LoadMeasurement:
    """Open ``clients`` sessions, each on a thread of its own with a node of its own under a fresh
    ``/fk-cost-<random>`` node, and have them call get_data (``read_share`` of the calls) and
    set_data, one call at a time each, ``rate`` calls a second in all, for ``seconds``.

    A session's calls are due every ``clients / rate`` seconds, the sessions staggered evenly
    across that interval; a call that is due while the session's previous call is still running
    starts when it returns. What the run billed is ``probe.billed(m)`` with ``m = probe.mark()`` taken once the
    sessions are open and the functions idle, and read again once they are idle after the last
    call; ``meter`` is the provider's meter, whose requests counted under
    :data:`~faaskeeper.metering.READS` are the reads'. The function hosts' batches are counted in
    :data:`~faaskeeper.metering.BATCHES`."""
    if clients < 1:
        raise ValueError(f"clients must be at least 1, got {clients}")
    if not rate > 0:
        raise ValueError(f"the rate must be above 0, got {rate:g}")
    if not seconds > 0:
        raise ValueError(f"seconds must be above 0, got {seconds:g}")
    if not 0 <= read_share <= 1:
        raise ValueError(f"the read share must be from 0 to 1, got {read_share:g}")
    base = f"/fk-cost-{uuid.uuid4().hex[:8]}"
    data = bytes(size)
    interval = clients / rate
    issued: Counter[str] = Counter()
    completed: Counter[str] = Counter()
    errors: list[str] = []
    guard = threading.Lock()

    def drive(session: int, client: FaaSKeeperClient, started: float) -> None:
        node = f"{base}/c{session}"
        first = started + session * interval / clients
        call = 0
        while (due := first + call * interval) < started + seconds:
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            name = "get_data" if is_read(call + session, read_share) else "set_data"
            with guard:
                issued[name] += 1
            try:
                if name == "get_data":
                    client.get_data(node)
                else:
                    client.set_data(node, data)
            except FaaSKeeperException as err:
                with guard:
                    if len(errors) < _ERRORS_KEPT:
                        errors.append(f"{name} {node}: {type(err).__name__}: {err}")
            else:
                with guard:
                    completed[name] += 1
            call += 1

    with ExitStack() as running:
        sessions = [running.enter_context(FaaSKeeperClient(config, timeout=timeout)) for _ in range(clients)]
        owner = sessions[0]
        owner.create(base, b"")
        try:
            for session in range(clients):
                owner.create(f"{base}/c{session}", data)
            probe.idle()
            before = probe.mark()
            reads_before = meter.snapshot(READS)
            batches_before = BATCHES.snapshot()
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=clients, thread_name_prefix="fk-cost-load") as pool:
                for future in [pool.submit(drive, i, client, started) for i, client in enumerate(sessions)]:
                    future.result()
            elapsed = time.monotonic() - started
            probe.idle()
            counted = dict(probe.billed(before))
            reads = difference(meter.snapshot(READS), reads_before)
            batches = batch_sizes(difference(BATCHES.snapshot(), batches_before))
        finally:
            _remove(owner, base)
    return LoadMeasurement(
        clients=clients,
        rate=rate,
        seconds=seconds,
        read_share=read_share,
        size=size,
        elapsed=elapsed,
        issued={name: issued[name] for name in LOAD_OPERATIONS},
        completed={name: completed[name] for name in LOAD_OPERATIONS},
        errors=errors,
        requests=_per_call(counted, reads, completed),
        batches=batches,
    )


def _per_call(
    counted: Mapping[Key, int], reads: Mapping[Key, int], completed: Mapping[str, int]
) -> dict[str, dict[Key, float]]:
    """The requests of one read and of one write: the reads' metered requests over the reads, the
    rest over the writes (operations that did not run have no entry)."""
    by_operation = {
        "set_data": {key: n - reads.get(key, 0) for key, n in counted.items() if n > reads.get(key, 0)},
        "get_data": {key: n for key, n in reads.items() if key in counted},
    }
    return {
        name: {key: n / completed[name] for key, n in sorted(by_operation[name].items())}
        for name in LOAD_OPERATIONS
        if completed.get(name, 0)
    }


def measure_sessions(
    config: Config, run_once: Callable[[], Mapping[Key, float]], *, low: int, high: int, timeout: float = 10.0
) -> HeartbeatMeasurement:
    """Split what one heartbeat run bills into a fixed part and a part per session: ``run_once()``
    runs the heartbeat once and returns its requests; it is called with ``low`` and then with
    ``high`` client sessions open."""
    if not 0 <= low < high:
        raise ValueError(f"need 0 <= low < high sessions, got {low} and {high}")
    counts: dict[int, Mapping[Key, float]] = {}
    with ExitStack() as running:
        opened = 0
        for sessions in (low, high):
            while opened < sessions:
                running.enter_context(FaaSKeeperClient(config, timeout=timeout))
                opened += 1
            counts[sessions] = run_once()
    span = high - low
    keys = set(counts[low]) | set(counts[high])
    per_session = {k: max(0.0, (counts[high].get(k, 0) - counts[low].get(k, 0)) / span) for k in sorted(keys)}
    fixed = {k: max(0.0, counts[low].get(k, 0) - low * per_session[k]) for k in sorted(keys)}
    return HeartbeatMeasurement(
        fixed={k: n for k, n in fixed.items() if n},
        per_session={k: n for k, n in per_session.items() if n},
        sessions=(low, high),
    )


def _remove(client: FaaSKeeperClient, base: str) -> None:
    try:
        for child in client.get_children(base):
            client.delete(child.path)
        client.delete(base)
    except FaaSKeeperException:
        pass  # best effort: the measurement's result (or error) matters more than its litter
