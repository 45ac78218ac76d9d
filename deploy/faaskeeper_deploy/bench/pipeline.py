"""The pipeline workload of ``fk bench``: get_data and set_data through the async API, ``depth`` in flight.

One client per system issues requests without waiting for their replies until ``depth`` are
outstanding, then waits for the oldest before issuing the next (a sliding window). A request's
latency runs from its issue to the moment its reply was collected, so with a deep window it includes
the wait behind the requests before it: the figure that matters here is the throughput, the timed
requests over the time from the first issue to the last reply (``total``: the calls of both
operations over both stretches).
"""

from __future__ import annotations

import gc
import time
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from faaskeeper_deploy.bench.common import BLOCK, MIX_OPERATIONS, TOTAL, counted
from faaskeeper_deploy.bench.interrupt import abandoned
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.systems import System, remove_on_exit

#: Seconds to wait for one reply.
REPLY_TIMEOUT = 60.0


def pipelined(
    submit: Callable[[], Any], count: int, depth: int, samples: list[int], progress: Progress
) -> tuple[int, int]:
    """Issue ``count`` requests, ``depth`` at most in flight; their latencies go to ``samples``.

    Returns the clock readings of the first issue and of the last reply."""
    clock = time.perf_counter_ns
    window: deque[tuple[int, Any]] = deque()
    first = clock()
    last = first

    def collect() -> None:
        nonlocal last
        issued, result = window.popleft()
        result.get(timeout=REPLY_TIMEOUT)
        last = clock()
        samples.append(last - issued)
        if len(samples) % BLOCK == 0:
            progress.advance(BLOCK)

    try:
        for _ in range(count):
            check_interrupt()
            if len(window) >= depth:
                collect()
            window.append((clock(), submit()))
        while window:
            collect()
    except KeyboardInterrupt:
        # Keep what completed; the replies still in flight are awaited so that cleanup is not raced
        # (unless a second Ctrl-C skips the cleanup).
        for _, result in window:
            if abandoned():
                break
            _wait_quietly(result)
        raise
    return first, last


def _wait_quietly(result: Any) -> None:
    try:
        result.get(timeout=REPLY_TIMEOUT)
    except Exception:  # the request's outcome no longer matters, only that it is over
        return


def _measure_system(
    system: System, path: str, value: bytes, count: int, warmup: int, depth: int, progress: Progress
) -> None:
    calls: dict[str, Callable[[], Any]] = {
        "get_data": lambda: system.async_ops["get_data"](path),
        "set_data": lambda: system.async_ops["set_data"](path, value),
    }
    spans: dict[str, int] = {}
    for op in MIX_OPERATIONS:
        samples = system.samples.setdefault(op, [])
        pipelined(calls[op], warmup, depth, [], Progress())
        gc.collect()
        first, last = pipelined(calls[op], count, depth, samples, progress)
        spans[op] = last - first
        system.throughput[op] = count / (spans[op] / 1e9) if spans[op] > 0 else 0.0
    total = sum(spans.values())
    if total > 0:
        system.throughput[TOTAL] = count * len(spans) / (total / 1e9)


def run_pipeline(
    stack: ExitStack,
    systems: Sequence[System],
    root: str,
    value: bytes,
    count: int,
    warmup: int,
    depth: int,
    progress: Progress,
) -> None:
    path = f"{root}/pipelined"
    for system in systems:
        remove_on_exit(stack, system, root)
        system.create(root, b"")
        system.create(path, value)
    for system in systems:
        progress.phase(
            f"pipeline on {system.name}: get_data then set_data, {counted(count, 'call')} each, {depth} in flight",
            count * len(MIX_OPERATIONS),
        )
        _measure_system(system, path, value, count, warmup, depth, progress)
