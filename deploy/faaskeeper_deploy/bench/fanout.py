"""The fan-out workload of ``fk bench``: one set_data to ``watchers`` clients holding a data watch.

The watchers are clients of their own (sessions, client channels and callback threads) in this
process, made by :mod:`faaskeeper_deploy.bench.watch_clients`, so that their callbacks and the
setter read one clock. Each round every watcher sets a one-shot data watch, the setter calls
``set_data``, and the round ends when every callback has run. ``fanout_last`` is the time from the
call to the last callback, ``fanout_each`` the time to each callback.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from faaskeeper_deploy.bench.common import BLOCK, WATCHER_TIMEOUT, BenchError, counted
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.systems import System, quietly, watched_node
from faaskeeper_deploy.bench.watch_clients import Watched, connect


class _Round:
    """The callbacks of one round: each watcher's clock reading, and whether all have arrived."""

    def __init__(self, watchers: int) -> None:
        self.readings: list[int] = []
        self.events: list[tuple[str, str]] = []
        self._expected = watchers
        self._guard = threading.Lock()
        self.complete = threading.Event()

    def fired(self, now: int, event_type: str, event_path: str) -> None:
        with self._guard:
            self.readings.append(now)
            self.events.append((event_type, event_path))
            if len(self.readings) == self._expected:
                self.complete.set()


def _rounds(
    system: System, watchers: Sequence[Watched], path: str, value: bytes, count: int
) -> tuple[list[int], list[int]]:
    """``count`` rounds: the latencies to the last callback, and to every callback, in nanoseconds."""
    lasts: list[int] = []
    each: list[int] = []
    set_data = system.ops["set_data"]
    for _ in range(count):
        check_interrupt()
        current = _Round(len(watchers))
        for watcher in watchers:
            watcher.arm(path, current.fired)
        start = time.perf_counter_ns()
        set_data(path, value)
        if not current.complete.wait(WATCHER_TIMEOUT):
            raise BenchError(
                f"{system.name}: {len(current.readings)} of {counted(len(watchers), 'watch', 'watches')} "
                f"on {path} fired within {WATCHER_TIMEOUT:g} s"
            )
        wrong = [e for e in current.events if e[1] != path]
        if wrong:
            raise BenchError(f"{system.name}: watches on {path} fired for {wrong[0][1]}")
        lasts.append(max(current.readings) - start)
        each.extend(reading - start for reading in current.readings)
    return lasts, each


def _measure_system(
    system: System, watchers: Sequence[Watched], path: str, value: bytes, count: int, warmup: int, progress: Progress
) -> None:
    lasts = system.samples.setdefault("fanout_last", [])
    each = system.samples.setdefault("fanout_each", [])
    _rounds(system, watchers, path, value, warmup)
    gc.collect()
    done = 0
    while done < count:
        block = min(BLOCK, count - done)
        new_lasts, new_each = _rounds(system, watchers, path, value, block)
        lasts.extend(new_lasts)
        each.extend(new_each)
        progress.advance(block)
        done += block


def run_fanout(
    stack: ExitStack,
    systems: Sequence[System],
    specs: dict[str, dict[str, Any]],
    root: str,
    value: bytes,
    count: int,
    warmup: int,
    watchers: int,
    progress: Progress,
) -> None:
    path = watched_node(stack, systems, root, value)
    for system in systems:
        progress.phase(f"fan-out on {system.name}: connecting {counted(watchers, 'watcher')}")
        connected: list[Watched] = []
        with ExitStack() as clients:
            for _ in range(watchers):
                watcher = connect(specs[system.name])
                clients.callback(quietly, system, watcher.close)
                connected.append(watcher)
            progress.phase(
                f"fan-out on {system.name}: set_data to {counted(watchers, 'watcher')}, {counted(count, 'round')}",
                count,
            )
            _measure_system(system, connected, path, value, count, warmup, progress)
