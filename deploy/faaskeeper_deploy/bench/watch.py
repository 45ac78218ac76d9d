"""The watch workload of ``fk bench``: from set_data here to a data watch's callback in another process.

The watcher process is :mod:`faaskeeper_deploy.bench.watcher`; :class:`WatcherProcess` drives it.
"""

from __future__ import annotations

import gc
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from faaskeeper.config import Config
from faaskeeper_deploy.bench.common import BLOCK, FAASKEEPER, WATCHER_TIMEOUT, ZOOKEEPER, BenchError, counted
from faaskeeper_deploy.bench.interrupt import abandoned
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.systems import System, ZooKeeperSystem, quietly, watched_node


class WatcherProcess:
    """A watcher process (:mod:`faaskeeper_deploy.bench.watcher`), driven one line at a time.

    Its standard output is read by a thread of this process into a queue, so that every wait has a
    timeout; the readings that count are taken in the watcher, so this hop adds nothing to them."""

    def __init__(self, name: str, spec: dict[str, Any], timeout: float = WATCHER_TIMEOUT) -> None:
        self.name = name
        self._timeout = timeout
        # Lives as long as the process; closed by close().
        self._stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "faaskeeper_deploy.bench.watcher"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                env=env,
            )
        except OSError as err:
            self._stderr.close()
            raise BenchError(f"{name} watcher: cannot start {sys.executable}: {err}") from err
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, name=f"fk-bench-{name}-watcher", daemon=True)
        self._reader.start()
        try:
            self._send(json.dumps(spec))
            self.description: dict[str, Any] = {"pid": self._process.pid, **json.loads(self._expect("started"))}
        except BaseException:
            self.close()
            raise

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _send(self, line: str) -> None:
        assert self._process.stdin is not None
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except OSError as err:
            raise self._failure(f"cannot send {line.split()[0]!r}: {err}") from err

    def _failure(self, message: str) -> BenchError:
        self._stderr.seek(0)
        tail = self._stderr.read()[-2000:].strip()
        return BenchError(f"{self.name} watcher: {message}" + (f"\n{tail}" if tail else ""))

    def _expect(self, word: str) -> str:
        """The rest of the next line, which must start with ``word``."""
        try:
            line = self._lines.get(timeout=self._timeout)
        except queue.Empty:
            raise self._failure(f"no {word!r} within {self._timeout:g} s") from None
        if line is None:
            try:
                status = f"exited with status {self._process.wait(timeout=5)}"
            except subprocess.TimeoutExpired:
                status = "closed its output"
            raise self._failure(f"{status} while {word!r} was awaited")
        head, _, rest = line.partition(" ")
        if head == "error":
            raise self._failure(rest)
        if head != word:
            raise self._failure(f"said {line!r} where {word!r} was awaited")
        return rest

    def arm(self) -> None:
        """Set the watch; returns once the watcher has it registered."""
        self._send("arm")
        self._expect("ready")

    def fired(self) -> tuple[int, str, str]:
        """The next watch that fired: the watcher's clock reading, the event type and the path."""
        fields = self._expect("fired").split(" ", 2)
        if len(fields) != 3:
            raise self._failure(f"malformed 'fired' line: {fields!r}")
        return int(fields[0]), fields[1], fields[2]

    def clock(self) -> int:
        """The watcher's :func:`time.perf_counter_ns` now."""
        self._send("clock")
        return int(self._expect("clock"))

    def close(self) -> None:
        """Ask the watcher to quit; kill it (this process's own child, by its PID) if it does not
        within 10 s, or at once after a second Ctrl-C."""
        try:
            if self._process.poll() is None and not abandoned():
                try:
                    assert self._process.stdin is not None
                    self._process.stdin.write("quit\n")
                    self._process.stdin.close()
                except OSError:
                    pass
                self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if self._process.poll() is None:
                self._process.kill()
                self._process.wait()
            self._reader.join(timeout=5)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._stderr.close()


def watcher_spec(system: System, config: Config, path: str) -> dict[str, Any]:
    if isinstance(system, ZooKeeperSystem):
        return {"system": ZOOKEEPER, "hosts": system.description["hosts"], "path": path}
    return {"system": FAASKEEPER, "config": config.serialize(), "path": path}


def _check_clock(watcher: WatcherProcess) -> None:
    """Whether the watcher's clock readings can be subtracted from this process's."""
    info = time.get_clock_info("perf_counter")
    theirs = watcher.description
    if not info.monotonic or info.adjustable or theirs.get("clock") != info.implementation:
        raise BenchError(
            f"{watcher.name} watcher: clocks not comparable across processes "
            f"(here {info.implementation}, monotonic={info.monotonic}, adjustable={info.adjustable}; "
            f"watcher {theirs.get('clock')})"
        )
    for _ in range(5):
        before = time.perf_counter_ns()
        reading = watcher.clock()
        after = time.perf_counter_ns()
        if not before <= reading <= after:
            raise BenchError(
                f"{watcher.name} watcher: its clock read {reading} ns between {before} and {after} ns here; "
                "the processes do not share a clock"
            )


#: The event type a data watch reports on set_data, by system (FaaSKeeper's and kazoo's names).
_CHANGED = {FAASKEEPER: "NodeDataChanged", ZOOKEEPER: "CHANGED"}


def _watch_rounds(
    system: System, watcher: WatcherProcess, path: str, value: bytes, count: int
) -> tuple[list[int], list[int]]:
    """``count`` rounds: the watch latencies and the setter's set_data latencies, in nanoseconds."""
    clock = time.perf_counter_ns
    set_data = system.ops["set_data"]
    watches: list[int] = []
    sets: list[int] = []
    for _ in range(count):
        check_interrupt()
        watcher.arm()
        start = clock()
        set_data(path, value)
        done = clock()
        fired, event_type, event_path = watcher.fired()
        if event_type != _CHANGED[system.name] or event_path != path:
            raise BenchError(f"{system.name}: the watch on {path} fired with {event_type} on {event_path}")
        if fired <= start:
            raise BenchError(f"{system.name}: the watch fired {start - fired} ns before set_data was called")
        watches.append(fired - start)
        sets.append(done - start)
    return watches, sets


def _measure_watch(
    systems: Sequence[System],
    watchers: dict[str, WatcherProcess],
    path: str,
    value: bytes,
    repetitions: int,
    warmup: int,
    progress: Progress,
) -> None:
    # Filled block by block, so that an interrupted run keeps the blocks it measured.
    samples = {s.name: (s.samples.setdefault("watch", []), s.samples.setdefault("set_data", [])) for s in systems}
    for system in systems:
        _watch_rounds(system, watchers[system.name], path, value, warmup)
        progress.advance(warmup)
    gc.collect()
    done = 0
    block = 0
    while done < repetitions:
        count = min(BLOCK, repetitions - done)
        for system in systems if block % 2 == 0 else reversed(systems):
            watches, sets = _watch_rounds(system, watchers[system.name], path, value, count)
            samples[system.name][0].extend(watches)
            samples[system.name][1].extend(sets)
            progress.advance(count)
        done += count
        block += 1


def run_watch(
    stack: ExitStack,
    systems: Sequence[System],
    config: Config,
    root: str,
    value: bytes,
    repetitions: int,
    warmup: int,
    progress: Progress,
) -> None:
    path = watched_node(stack, systems, root, value)
    watchers: dict[str, WatcherProcess] = {}
    for system in systems:
        progress.phase(f"starting the {system.name} watcher process")
        watcher = WatcherProcess(system.name, watcher_spec(system, config, path))
        # Registered after remove_tree, so it runs before: the watcher quits before its node goes.
        stack.callback(quietly, system, watcher.close)
        watchers[system.name] = watcher
        _check_clock(watcher)
        system.description = {**system.description, "watcher": watcher.description}
    progress.phase(
        f"measuring watch ({counted(repetitions, 'round')} after {counted(warmup, 'warm-up round')} per system)",
        (repetitions + warmup) * len(systems),
    )
    _measure_watch(systems, watchers, path, value, repetitions, warmup, progress)
