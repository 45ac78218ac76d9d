"""``fk bench``: the latency of each ZooKeeper operation on FaaSKeeper, next to Apache ZooKeeper.

Every call is timed on its own with :func:`time.perf_counter_ns`, from the synchronous client API
(so a write includes the queue, the functions and the reply over the client channel). With
``--zookeeper`` the same operations run through kazoo against a ZooKeeper server in the same run,
alternating blocks of calls between the two systems so that noise on the machine hits both alike.

The ``watch`` workload (``--workload watch``) times instead how long a change takes to reach a
watcher in another OS process: from ``set_data`` being called here to the one-shot data watch's
callback running in a watcher process (:mod:`faaskeeper_deploy.bench_watcher`). Both ends read
:func:`time.perf_counter_ns`, which is CLOCK_MONOTONIC on Linux, one clock for the whole machine;
the bench checks that before it starts. Each round the watcher sets the watch and says so, the
setter reads the clock and calls ``set_data``, and the watcher's callback reads the clock and
writes the reading to its standard output; the round's latency is the difference.

Without ``--config`` the FaaSKeeper side is a throwaway local deployment in a temporary directory.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import platform
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faaskeeper
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper_deploy import cli

#: The operations measured, in the order they run (creates make the nodes the deletes remove).
OPERATIONS: tuple[str, ...] = ("create", "get_data", "set_data", "exists", "get_children", "delete")
#: Children of the node that get_children lists.
CHILDREN = 10
#: Calls of one operation on one system before the other system takes its turn.
BLOCK = 50

#: The workloads of ``fk bench``: every operation on its own, or the latency of a watch.
OPERATIONS_WORKLOAD = "operations"
WATCH_WORKLOAD = "watch"
WORKLOADS: tuple[str, ...] = (OPERATIONS_WORKLOAD, WATCH_WORKLOAD)
#: What the watch workload reports: the watch's latency, and the setter's set_data in the same rounds.
WATCH_OPERATIONS: tuple[str, ...] = ("watch", "set_data")
#: Seconds to wait for a watcher process to connect, to set a watch, or for the watch to fire.
WATCHER_TIMEOUT = 60.0

FAASKEEPER = "faaskeeper"
ZOOKEEPER = "zookeeper"

log = logging.getLogger("faaskeeper_deploy.bench")


class BenchError(FaaSKeeperException):
    """The benchmark could not run, or a system under test gave a wrong answer."""

    code = "BenchError"


# -- statistics ----------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, interpolating linearly between ranks."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Latency figures of one operation on one system, in milliseconds."""

    count: int
    median_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float

    @staticmethod
    def of(samples_ns: Sequence[int]) -> Summary:
        values = sorted(s / 1e6 for s in samples_ns)
        return Summary(
            count=len(values),
            median_ms=percentile(values, 0.5),
            p99_ms=percentile(values, 0.99),
            mean_ms=sum(values) / len(values),
            min_ms=values[0],
            max_ms=values[-1],
        )

    def to_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "median_ms": self.median_ms,
            "p99_ms": self.p99_ms,
            "mean_ms": self.mean_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
        }


@dataclass
class SystemResult:
    """All figures of one system: its description, a summary per operation and the raw samples."""

    name: str
    description: dict[str, Any]
    samples_ns: dict[str, list[int]] = field(default_factory=dict)

    @property
    def operations(self) -> dict[str, Summary]:
        return {op: Summary.of(samples) for op, samples in self.samples_ns.items() if samples}

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "operations": {op: s.to_dict() for op, s in self.operations.items()},
            "samples_ns": self.samples_ns,
        }


@dataclass
class BenchResult:
    machine: dict[str, Any]
    settings: dict[str, Any]
    systems: dict[str, SystemResult]

    @property
    def faaskeeper(self) -> SystemResult:
        return self.systems[FAASKEEPER]

    @property
    def zookeeper(self) -> SystemResult | None:
        return self.systems.get(ZOOKEEPER)

    @property
    def operations(self) -> tuple[str, ...]:
        """The rows of this result, in order (the workload's operations)."""
        return tuple(self.settings.get("operations", OPERATIONS))

    def ratios(self) -> dict[str, dict[str, float]]:
        """FaaSKeeper / ZooKeeper per operation, of the medians and of the p99s (empty without ZooKeeper)."""
        if self.zookeeper is None:
            return {}
        fk, zk = self.faaskeeper.operations, self.zookeeper.operations
        return {
            op: {"median": fk[op].median_ms / zk[op].median_ms, "p99": fk[op].p99_ms / zk[op].p99_ms}
            for op in self.operations
            if op in fk and op in zk
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "settings": self.settings,
            "systems": {name: system.to_dict() for name, system in self.systems.items()},
            "ratios": self.ratios(),
        }


def machine_info() -> dict[str, Any]:
    """What the figures depend on: cores, CPU, OS, Python, load."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "faaskeeper": faaskeeper.__version__,
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or None


# -- the systems under test ----------------------------------------------------------------------


class _System:
    """One system under test: the six operations as bound methods, plus setup and cleanup."""

    name: str
    #: Exceptions of the system's own client library that mean it failed.
    errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self.description: dict[str, Any] = {}
        self.ops: dict[str, Callable[..., Any]] = {}
        #: Timed samples per operation, in nanoseconds.
        self.samples: dict[str, list[int]] = {}

    def create(self, path: str, value: bytes) -> None:
        self.ops["create"](path, value)

    def read(self, path: str) -> bytes | None:
        raise NotImplementedError

    def children(self, path: str) -> list[str]:
        """Names of the children of ``path``."""
        raise NotImplementedError

    def remove_tree(self, path: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _FaaSKeeper(_System):
    name = FAASKEEPER

    def __init__(self, config: Config, description: dict[str, Any]) -> None:
        super().__init__()
        self.client = FaaSKeeperClient(config)
        self.client.start()
        self.description = {**description, "session": self.client.session_id}
        c = self.client
        self.ops = {
            "create": c.create,
            "get_data": c.get_data,
            "set_data": c.set_data,
            "exists": c.exists,
            "get_children": c.get_children,
            "delete": c.delete,
        }

    def read(self, path: str) -> bytes | None:
        return self.client.get_data(path).data

    def children(self, path: str) -> list[str]:
        return [node.path.rsplit("/", 1)[1] for node in self.client.get_children(path)]

    def remove_tree(self, path: str) -> None:
        if self.client.exists(path) is None:
            return
        for name in self.children(path):
            self.remove_tree(f"{path}/{name}")
        self.client.delete(path)

    def close(self) -> None:
        self.client.stop()


class _ZooKeeper(_System):
    name = ZOOKEEPER

    def __init__(self, hosts: str, timeout: float = 10.0) -> None:
        super().__init__()
        try:
            import kazoo
            from kazoo.client import KazooClient
            from kazoo.exceptions import KazooException
            from kazoo.handlers.threading import KazooTimeoutError
        except ImportError as err:
            raise BenchError("--zookeeper needs kazoo: pip install 'faaskeeper[bench]'") from err
        self.errors = (KazooException, KazooTimeoutError)
        self.client: Any = KazooClient(hosts=hosts, timeout=timeout)
        try:
            self.client.start(timeout=timeout)
        except self.errors as err:
            self.client.close()
            raise BenchError(f"Cannot connect to ZooKeeper at {hosts} within {timeout:g} s: {err}") from err
        self.description = {"hosts": hosts, "server": self._server_version(), "kazoo": kazoo.__version__}
        c = self.client
        self.ops = {
            "create": c.create,
            "get_data": c.get,
            "set_data": c.set,
            "exists": c.exists,
            "get_children": c.get_children,
            "delete": c.delete,
        }

    def _server_version(self) -> str | None:
        try:
            text: str = self.client.command(b"srvr")
        except Exception:  # the four-letter command may be disabled; the version is only informative
            return None
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "zookeeper version":
                return value.strip()
        return None

    def read(self, path: str) -> bytes | None:
        data: bytes | None = self.client.get(path)[0]
        return data

    def children(self, path: str) -> list[str]:
        return list(self.client.get_children(path))

    def remove_tree(self, path: str) -> None:
        self.client.delete(path, recursive=True)

    def close(self) -> None:
        self.client.stop()
        self.client.close()


# -- the benchmark -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """The nodes of one system's benchmark, all under a fresh root."""

    root: str

    @property
    def data(self) -> str:
        return f"{self.root}/data"

    @property
    def parent(self) -> str:
        return f"{self.root}/children"

    @property
    def nodes(self) -> str:
        return f"{self.root}/nodes"

    def node(self, tag: str, index: int) -> str:
        return f"{self.nodes}/{tag}{index:07d}"


def _prepare(system: _System, layout: _Layout, value: bytes) -> None:
    system.create(layout.root, b"")
    system.create(layout.data, value)
    system.create(layout.parent, b"")
    system.create(layout.nodes, b"")
    for i in range(CHILDREN):
        system.create(f"{layout.parent}/c{i:02d}", value)
    _check(system, layout.data, system.read(layout.data) == value, "get_data returned other data than was written")
    _check(
        system,
        layout.parent,
        len(system.children(layout.parent)) == CHILDREN,
        f"get_children did not list the {CHILDREN} children",
    )


def _check(system: _System, path: str, ok: bool, message: str) -> None:
    if not ok:
        raise BenchError(f"{system.name}: {message} ({path})")


def _arguments(op: str, layout: _Layout, value: bytes, tag: str, start: int, count: int) -> list[tuple[Any, ...]]:
    """The arguments of calls ``start`` to ``start + count`` of ``op``."""
    indices = range(start, start + count)
    if op in ("create", "delete"):
        return [(layout.node(tag, i), value) if op == "create" else (layout.node(tag, i),) for i in indices]
    if op == "set_data":
        return [(layout.data, value)] * count
    if op == "get_children":
        return [(layout.parent,)] * count
    return [(layout.data,)] * count


def _timed(fn: Callable[..., Any], arguments: Sequence[tuple[Any, ...]]) -> list[int]:
    clock = time.perf_counter_ns
    samples = []
    for args in arguments:
        start = clock()
        fn(*args)
        samples.append(clock() - start)
    return samples


def _measure(
    systems: Sequence[_System], layouts: dict[str, _Layout], op: str, value: bytes, repetitions: int, warmup: int
) -> None:
    samples: dict[str, list[int]] = {s.name: [] for s in systems}
    for system in systems:
        _timed(system.ops[op], _arguments(op, layouts[system.name], value, "w", 0, warmup))
    gc.collect()
    done = 0
    block = 0
    while done < repetitions:
        count = min(BLOCK, repetitions - done)
        # Alternate which system goes first, so neither always follows the other's work.
        for system in systems if block % 2 == 0 else reversed(systems):
            args = _arguments(op, layouts[system.name], value, "n", done, count)
            samples[system.name].extend(_timed(system.ops[op], args))
        done += count
        block += 1
    for system in systems:
        system.samples[op] = samples[system.name]


def _quietly(system: _System, fn: Callable[..., Any], *args: Any) -> None:
    """Clean up without hiding the benchmark's own outcome: a failure here is only logged."""
    try:
        fn(*args)
    except Exception as err:  # cleanup of a system that may already have failed
        log.warning("%s: cleanup (%s) failed: %s: %s", system.name, fn.__name__, type(err).__name__, err)


# -- the watch workload --------------------------------------------------------------------------


class _Watcher:
    """A watcher process (:mod:`faaskeeper_deploy.bench_watcher`), driven one line at a time.

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
                [sys.executable, "-m", "faaskeeper_deploy.bench_watcher"],
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
        """Ask the watcher to quit; kill it (this process's own child, by its PID) if it does not."""
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.write("quit\n")
                self._process.stdin.close()
            except OSError:
                pass
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout=5)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()


def _watcher_spec(system: _System, config: Config, path: str) -> dict[str, Any]:
    if isinstance(system, _ZooKeeper):
        return {"system": ZOOKEEPER, "hosts": system.description["hosts"], "path": path}
    return {"system": FAASKEEPER, "config": config.serialize(), "path": path}


def _check_clock(watcher: _Watcher) -> None:
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
    system: _System, watcher: _Watcher, path: str, value: bytes, count: int
) -> tuple[list[int], list[int]]:
    """``count`` rounds: the watch latencies and the setter's set_data latencies, in nanoseconds."""
    clock = time.perf_counter_ns
    set_data = system.ops["set_data"]
    watches: list[int] = []
    sets: list[int] = []
    for _ in range(count):
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
    systems: Sequence[_System],
    watchers: dict[str, _Watcher],
    path: str,
    value: bytes,
    repetitions: int,
    warmup: int,
) -> None:
    samples: dict[str, tuple[list[int], list[int]]] = {s.name: ([], []) for s in systems}
    for system in systems:
        _watch_rounds(system, watchers[system.name], path, value, warmup)
    gc.collect()
    done = 0
    block = 0
    while done < repetitions:
        count = min(BLOCK, repetitions - done)
        for system in systems if block % 2 == 0 else reversed(systems):
            watches, sets = _watch_rounds(system, watchers[system.name], path, value, count)
            samples[system.name][0].extend(watches)
            samples[system.name][1].extend(sets)
        done += count
        block += 1
    for system in systems:
        system.samples["watch"], system.samples["set_data"] = samples[system.name]


def _run_watch(
    stack: ExitStack,
    systems: Sequence[_System],
    config: Config,
    root: str,
    value: bytes,
    repetitions: int,
    warmup: int,
    progress: Callable[[str], None] | None,
) -> None:
    path = f"{root}/watched"
    for system in systems:
        stack.callback(_quietly, system, system.remove_tree, root)
        system.create(root, b"")
        system.create(path, value)
    watchers: dict[str, _Watcher] = {}
    for system in systems:
        if progress is not None:
            progress(f"starting the {system.name} watcher process")
        watcher = _Watcher(system.name, _watcher_spec(system, config, path))
        # Registered after remove_tree, so it runs before: the watcher quits before its node goes.
        stack.callback(_quietly, system, watcher.close)
        watchers[system.name] = watcher
        _check_clock(watcher)
        system.description = {**system.description, "watcher": watcher.description}
    if progress is not None:
        progress(f"measuring watch ({repetitions} rounds after {warmup} warm-up rounds per system)")
    _measure_watch(systems, watchers, path, value, repetitions, warmup)


def _run_operations(
    stack: ExitStack,
    systems: Sequence[_System],
    root: str,
    value: bytes,
    repetitions: int,
    warmup: int,
    progress: Callable[[str], None] | None,
) -> None:
    layouts: dict[str, _Layout] = {}
    for system in systems:
        layouts[system.name] = _Layout(root)
        stack.callback(_quietly, system, system.remove_tree, root)
        _prepare(system, layouts[system.name], value)
    for op in OPERATIONS:
        if progress is not None:
            progress(f"measuring {op} ({repetitions} calls after {warmup} warm-up calls per system)")
        _measure(systems, layouts, op, value, repetitions, warmup)
    for system in systems:
        _check(
            system,
            layouts[system.name].nodes,
            system.children(layouts[system.name].nodes) == [],
            "nodes remain after deleting all that were created",
        )


@contextmanager
def _throwaway_local() -> Iterator[tuple[Config, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="fk-bench-") as directory:
        config = Config.deserialize(
            {"cloud-provider": "local", "deployment-name": "bench", "local": {"path": directory}}
        )
        yield config, {"provider": "local", "deployment": "bench", "throwaway": True, "path": directory}


def run_bench(
    config: Config | None = None,
    *,
    zookeeper: str | None = None,
    repetitions: int = 1000,
    warmup: int = 100,
    size: int = 100,
    progress: Callable[[str], None] | None = None,
    workload: str = OPERATIONS_WORKLOAD,
) -> BenchResult:
    """Time each operation ``repetitions`` times on FaaSKeeper (and ZooKeeper, given its hosts).

    With ``workload="watch"``, time ``repetitions`` rounds of a data watch in another process
    instead: from ``set_data`` called here to the watch's callback in a watcher process.

    :param config: client config of the FaaSKeeper deployment; None makes a throwaway local one
    :param zookeeper: kazoo hosts string (``HOST:PORT``) of the ZooKeeper to compare with
    :param repetitions: timed calls per operation (or watch rounds) and system
    :param warmup: untimed calls per operation (or watch rounds) and system before the timed ones
    :param size: bytes of each node's data
    :param progress: receives a line before each operation is measured
    :param workload: ``"operations"`` or ``"watch"``
    """
    if workload not in WORKLOADS:
        raise BenchError(f"workload must be one of {', '.join(WORKLOADS)}, got {workload!r}")
    if repetitions < 1:
        raise BenchError(f"repetitions must be at least 1, got {repetitions}")
    if warmup < 0:
        raise BenchError(f"warmup must be at least 0, got {warmup}")
    if size < 0:
        raise BenchError(f"size must be at least 0, got {size}")
    value = os.urandom(size)
    settings: dict[str, Any] = {
        "workload": workload,
        "repetitions": repetitions,
        "warmup": warmup,
        "size": size,
        "block": BLOCK,
        "operations": list(WATCH_OPERATIONS if workload == WATCH_WORKLOAD else OPERATIONS),
    }
    if workload == OPERATIONS_WORKLOAD:
        settings["children"] = CHILDREN
    else:
        settings["clock"] = time.get_clock_info("perf_counter").implementation
    machine = machine_info()
    with ExitStack() as stack:
        if config is None:
            config, description = stack.enter_context(_throwaway_local())
        else:
            description = {"provider": config.cloud_provider, "deployment": config.deployment_name, "throwaway": False}
        systems: list[_System] = []
        root = f"/fk-bench-{uuid.uuid4().hex[:12]}"
        errors: tuple[type[BaseException], ...] = ()
        try:
            fk = _FaaSKeeper(config, description)
            stack.callback(_quietly, fk, fk.close)
            systems.append(fk)
            if zookeeper is not None:
                zk = _ZooKeeper(zookeeper)
                stack.callback(_quietly, zk, zk.close)
                systems.append(zk)
                errors = zk.errors
            if workload == WATCH_WORKLOAD:
                _run_watch(stack, systems, config, root, value, repetitions, warmup, progress)
            else:
                _run_operations(stack, systems, root, value, repetitions, warmup, progress)
        except errors as err:
            raise BenchError(f"zookeeper: {type(err).__name__}: {err}") from err
        return BenchResult(
            machine=machine,
            settings=settings,
            systems={s.name: SystemResult(s.name, s.description, s.samples) for s in systems},
        )
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow exceptions


# -- presentation --------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def format_table(result: BenchResult) -> str:
    m, s = result.machine, result.settings
    fk, zk = result.faaskeeper, result.zookeeper
    if s.get("workload") == WATCH_WORKLOAD:
        title = (
            f"fk bench --workload watch: {s['repetitions']} timed rounds after {s['warmup']} warm-up rounds, "
            f"{s['size']}-byte values"
        )
    else:
        title = (
            f"fk bench: {s['repetitions']} timed calls per operation after {s['warmup']} warm-up calls, "
            f"{s['size']}-byte values"
        )
    lines = [
        title,
        f"machine:    {m['cores']} cores ({m['usable_cores']} usable), {m['cpu'] or 'unknown CPU'}, {m['platform']}",
        f"python:     {m['python']}" + (f", load average {m['load_average']}" if "load_average" in m else ""),
        "faaskeeper: {provider} provider, deployment {deployment!r}{where}".format(
            where=f" (throwaway in {fk.description['path']})" if fk.description.get("throwaway") else "",
            **fk.description,
        ),
    ]
    if zk is not None:
        server = zk.description.get("server") or "version unknown"
        lines.append(f"zookeeper:  {zk.description['hosts']} (server {server}; kazoo {zk.description['kazoo']})")
    else:
        lines.append("zookeeper:  not measured (pass --zookeeper HOST:PORT)")
    if s.get("workload") == WATCH_WORKLOAD:
        lines += [
            f"watch:      set_data called here to the watch's callback in a watcher process ({s['clock']})",
            "set_data:   the setter's own set_data call in the same rounds",
        ]
    lines.append("")
    head = f"{'':<14}{'FaaSKeeper (ms)':^20}  {'ZooKeeper (ms)':^20}  {'FaaSKeeper/ZooKeeper':^20}"
    sub = f"{'operation':<14}" + f"{'median':>10}{'p99':>10}  " * 3
    lines += [head, sub.rstrip(), "-" * len(head)]
    fk_ops = fk.operations
    zk_ops = zk.operations if zk is not None else {}
    ratios = result.ratios()
    for op in result.operations:
        f, z, r = fk_ops.get(op), zk_ops.get(op), ratios.get(op)
        lines.append(
            f"{op:<14}"
            f"{_ms(f.median_ms if f else None):>10}{_ms(f.p99_ms if f else None):>10}  "
            f"{_ms(z.median_ms if z else None):>10}{_ms(z.p99_ms if z else None):>10}  "
            f"{_ratio(r['median'] if r else None):>10}{_ratio(r['p99'] if r else None):>10}"
        )
    return "\n".join(lines)


# -- the command ---------------------------------------------------------------------------------


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def cmd_bench(args: argparse.Namespace) -> int:
    config = Config.from_file(args.config) if args.config else None

    def progress(line: str) -> None:
        print(f"fk bench: {line}", file=sys.stderr, flush=True)

    result = run_bench(
        config,
        zookeeper=args.zookeeper,
        repetitions=args.repetitions,
        warmup=args.warmup,
        size=args.size,
        progress=None if args.quiet else progress,
        workload=args.workload,
    )
    print(format_table(result))
    if args.json:
        path = Path(args.json)
        try:
            path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        except OSError as err:
            raise BenchError(f"Cannot write {path}: {err.strerror}") from err
        print(f"\nall figures written to {path}")
    return 0


def add_bench_parser(commands: Any) -> None:
    """Add ``fk bench`` to the subcommands of ``fk``."""
    bench = commands.add_parser(
        "bench",
        help="time each operation on FaaSKeeper, next to Apache ZooKeeper",
        description=(
            "Time each ZooKeeper operation (create, get_data, set_data, exists, get_children, delete) "
            "call by call through the synchronous FaaSKeeper client, and with --zookeeper through kazoo "
            "against Apache ZooKeeper in the same run, alternating blocks of calls between the two. "
            "--workload watch times instead a data watch across processes: from set_data called here to "
            "the watch's callback in a watcher client in another OS process. "
            "Without --config, FaaSKeeper is a throwaway local deployment in a temporary directory."
        ),
    )
    bench.add_argument(
        "--workload",
        choices=WORKLOADS,
        default=OPERATIONS_WORKLOAD,
        help=(
            "operations: time each operation (the default); watch: time from set_data here to the "
            "data watch's callback in a watcher client in another process"
        ),
    )
    bench.add_argument(
        "--config",
        metavar="CLIENT_CONFIG",
        help="client config of the deployment to measure (default: a throwaway local one)",
    )
    bench.add_argument(
        "--zookeeper",
        metavar="HOST:PORT",
        help="also measure this ZooKeeper through kazoo (e.g. from tools/zookeeper start)",
    )
    bench.add_argument(
        "--repetitions",
        type=_count(1),
        default=1000,
        metavar="N",
        help="timed calls per operation (or watch rounds) and system (default: 1000)",
    )
    bench.add_argument(
        "--warmup",
        type=_count(0),
        default=100,
        metavar="N",
        help="untimed calls per operation (or watch rounds) and system before those (default: 100)",
    )
    bench.add_argument(
        "--size", type=_count(0), default=100, metavar="BYTES", help="bytes of data in each node (default: 100)"
    )
    bench.add_argument("--json", metavar="OUT", help="write every figure, raw samples included, to this file")
    bench.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    bench.set_defaults(func=cmd_bench)


cli._EXTENSIONS.append(add_bench_parser)
