"""Measuring the billable requests of each operation and of a heartbeat run, on any provider.

The providers' cost models (:class:`faaskeeper.api.cost.CostModel`) run their deployment's
functions and know how to count what they bill; these loops are the part they share: which
calls are made, in what order, and how a heartbeat run's requests are split into a fixed part and
a part per session.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TypeVar

from faaskeeper.api.cost import OPERATIONS, HeartbeatMeasurement, Measurement
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper.metering import Key

Mark = TypeVar("Mark")


def measure_calls(
    config: Config,
    *,
    repetitions: int,
    size: int,
    idle: Callable[[], None],
    mark: Callable[[], Mark],
    billed: Callable[[Mark], Mapping[Key, int]],
    timeout: float = 10.0,
) -> Measurement:
    """Call each operation of :data:`~faaskeeper.api.cost.OPERATIONS` ``repetitions`` times, one at a time, on nodes
    under a fresh ``/fk-cost-<random>`` node (removed afterwards).

    Before and after each call ``idle()`` waits until the functions have finished; what the call
    billed is ``billed(m)`` with ``m = mark()`` taken just before it."""
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
                    idle()
                    before = mark()
                    calls[name](i)
                    idle()
                    totals[name].update(billed(before))
        finally:
            _remove(client, base)
    return Measurement(
        repetitions=repetitions,
        size=size,
        requests={name: {key: n / repetitions for key, n in sorted(c.items())} for name, c in totals.items()},
    )


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
