"""The mix workload of ``fk bench``: N concurrent clients, each a sequence of reads and writes.

Every client is a session of its own (a FaaSKeeper client or a kazoo client), in a thread of this
process or in an OS process of its own (``concurrency="processes"``, started with ``spawn``). Each
has its own node, which it reads (``get_data``) with probability ``read_share`` and otherwise
overwrites (``set_data``), from a seeded generator so that runs repeat. All clients warm up, wait
at one start line, then make their timed calls; the throughput is all timed calls over the time from
the first client's first call to the last client's last one (:func:`time.perf_counter_ns`, one
clock for the whole machine). An interrupt stops every client after its current call; what they
measured is kept.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import random
import signal
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from faaskeeper.config import Config
from faaskeeper_deploy.bench.common import (
    BLOCK,
    FAASKEEPER,
    MIX_OPERATIONS,
    TOTAL,
    WATCHER_TIMEOUT,
    BenchError,
    counted,
)
from faaskeeper_deploy.bench.interrupt import abandoned
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.systems import FaaSKeeperSystem, System, ZooKeeperSystem, quietly, remove_on_exit

#: Seconds between looks at a Ctrl-C while the clients run.
_POLL = 0.2

THREADS = "threads"
PROCESSES = "processes"
CONCURRENCY: tuple[str, ...] = (THREADS, PROCESSES)


@dataclass(frozen=True)
class _Job:
    """What one client of the mix does: its system, its node, its calls."""

    spec: dict[str, Any]
    index: int
    path: str
    value: bytes
    calls: int
    warmup: int
    read_share: float
    seed: int


def _open(spec: dict[str, Any]) -> System:
    if spec["system"] == FAASKEEPER:
        return FaaSKeeperSystem(Config.deserialize(spec["config"]), {})
    return ZooKeeperSystem(str(spec["hosts"]))


def _work(job: _Job, start: Any, stop: Any, out: Any) -> None:
    """Run one client; put ``("ready", i)``, ``("tick", i, calls)`` every :data:`BLOCK` timed calls, then
    ``("done", i, samples, first, last)``; or ``("error", i, text)``."""
    try:
        system = _open(job.spec)
    except Exception as err:
        out.put(("error", job.index, f"{type(err).__name__}: {err}"))
        return
    try:
        ops = {"get_data": system.ops["get_data"], "set_data": system.ops["set_data"]}
        rng = random.Random(job.seed)
        for _ in range(job.warmup):
            if stop.is_set():
                break
            _call(ops, rng, job)
        out.put(("ready", job.index))
        start.wait()
        samples: dict[str, list[int]] = {op: [] for op in MIX_OPERATIONS}
        clock = time.perf_counter_ns
        first = clock()
        last = first
        for call in range(1, job.calls + 1):
            if stop.is_set():
                break
            op = "get_data" if rng.random() < job.read_share else "set_data"
            begin = clock()
            _invoke(ops, op, job)
            last = clock()
            samples[op].append(last - begin)
            if call % BLOCK == 0:
                out.put(("tick", job.index, BLOCK))
        out.put(("done", job.index, samples, first, last))
    except Exception as err:
        out.put(("error", job.index, f"{type(err).__name__}: {err}"))
    finally:
        quietly(system, system.close)


def _call(ops: dict[str, Callable[..., Any]], rng: random.Random, job: _Job) -> None:
    _invoke(ops, "get_data" if rng.random() < job.read_share else "set_data", job)


def _invoke(ops: dict[str, Callable[..., Any]], op: str, job: _Job) -> None:
    if op == "get_data":
        ops[op](job.path)
    else:
        ops[op](job.path, job.value)


def _process_main(job: _Job, start: Any, stop: Any, out: Any) -> None:
    # The bench's own process handles Ctrl-C and tells its clients to stop through ``stop``.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _work(job, start, stop, out)


class _Clients:
    """The running clients of one system, and their messages."""

    def __init__(self, jobs: Sequence[_Job], concurrency: str) -> None:
        self.count = len(jobs)
        self.workers: list[Any] = []
        self.start: Any
        self.stop: Any
        self.out: Any
        if concurrency == PROCESSES:
            context = multiprocessing.get_context("spawn")
            self.start, self.stop, self.out = context.Event(), context.Event(), context.Queue()
            for job in jobs:
                self.workers.append(context.Process(target=_process_main, args=(job, self.start, self.stop, self.out)))
        else:
            self.start, self.stop, self.out = threading.Event(), threading.Event(), queue.Queue()
            for job in jobs:
                self.workers.append(
                    threading.Thread(target=_work, args=(job, self.start, self.stop, self.out), daemon=True)
                )
        for worker in self.workers:
            worker.start()

    def expect(
        self, kind: str, progress: Progress | None = None, *, interruptible: bool = True
    ) -> list[tuple[Any, ...]]:
        """One ``kind`` message from each client; a client's error is raised as a BenchError.

        ``interruptible``: a Ctrl-C meanwhile raises KeyboardInterrupt (within :data:`_POLL` s);
        otherwise only a second Ctrl-C ends the wait, with the messages received until then."""
        messages: list[tuple[Any, ...]] = []
        deadline = time.monotonic() + WATCHER_TIMEOUT
        while len(messages) < self.count:
            if interruptible:
                check_interrupt()
            try:
                message = self.out.get(timeout=_POLL)
            except KeyboardInterrupt:
                if interruptible:
                    raise
                return messages
            except queue.Empty:
                if time.monotonic() < deadline:
                    continue
                raise BenchError(
                    f"mix: {counted(self.count - len(messages), 'client')} sent no {kind!r} "
                    f"within {WATCHER_TIMEOUT:g} s"
                ) from None
            deadline = time.monotonic() + WATCHER_TIMEOUT
            if message[0] == "error":
                raise BenchError(f"mix client {message[1]}: {message[2]}")
            if message[0] == "tick" and progress is not None:
                progress.advance(message[2])
            elif message[0] == kind:
                messages.append(message)
                if progress is not None:
                    progress.advance(sum(len(v) for v in message[2].values()) % BLOCK)
        return messages

    def close(self) -> None:
        """Stop the clients after their call in progress; kill a client process (this run's own
        child, by its handle) that has not ended within 30 s, or at once after a second Ctrl-C."""
        self.stop.set()
        self.start.set()
        try:
            for worker in self.workers:
                if not abandoned():
                    worker.join(timeout=30)
        finally:
            for worker in self.workers:
                if isinstance(worker, multiprocessing.process.BaseProcess) and worker.is_alive():
                    worker.kill()
                    worker.join()


def _measure_system(system: System, jobs: Sequence[_Job], concurrency: str, progress: Progress) -> None:
    samples = {op: system.samples.setdefault(op, []) for op in MIX_OPERATIONS}
    clients = _Clients(jobs, concurrency)
    try:
        clients.expect("ready")
        gc.collect()
        clients.start.set()
        try:
            finished = clients.expect("done", progress)
        except KeyboardInterrupt:
            clients.stop.set()
            finished = clients.expect("done", interruptible=False)
            _record(system, samples, finished)
            raise
        _record(system, samples, finished)
    finally:
        clients.close()


def _record(system: System, samples: dict[str, list[int]], finished: list[tuple[Any, ...]]) -> None:
    first = min((m[3] for m in finished), default=0)
    last = max((m[4] for m in finished), default=0)
    for message in finished:
        for op, values in message[2].items():
            samples[op].extend(values)
    seconds = (last - first) / 1e9
    if seconds > 0:
        system.throughput = {op: len(values) / seconds for op, values in samples.items()}
        system.throughput[TOTAL] = sum(len(v) for v in samples.values()) / seconds


def run_mix(
    stack: ExitStack,
    systems: Sequence[System],
    specs: dict[str, dict[str, Any]],
    root: str,
    value: bytes,
    calls: int,
    warmup: int,
    clients: int,
    read_share: float,
    concurrency: str,
    progress: Progress,
) -> None:
    """``clients`` clients per system, one system after the other, ``calls`` timed calls each."""
    for system in systems:
        remove_on_exit(stack, system, root)
        system.create(root, b"")
        for i in range(clients):
            system.create(f"{root}/c{i:03d}", value)
    for system in systems:
        jobs = [
            _Job(specs[system.name], i, f"{root}/c{i:03d}", value, calls, warmup, read_share, seed=i)
            for i in range(clients)
        ]
        progress.phase(
            f"mix on {system.name}: {counted(clients, 'client')} ({concurrency}), {read_share:.0%} reads, "
            f"{counted(calls, 'call')} each",
            calls * clients,
        )
        _measure_system(system, jobs, concurrency, progress)
