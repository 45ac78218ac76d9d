"""The recipes workload of ``fk bench``: kazoo's Lock and Election, through kazoo on both systems.

FaaSKeeper runs them through :class:`faaskeeper.kazoo.KazooClient`, ZooKeeper through kazoo's own
client, the same recipe code on each:

- ``lock_acquire``: ``Lock.acquire()`` of a lock no one else holds (its node created, the
  contenders listed); ``lock_release``: its ``release()`` (the node deleted).
- ``election_round``: two contenders (two sessions) run ``Election.run`` in turn; once both are
  in the election, from the leader's resigning (its function returning) to the other's function
  running as the new leader: the leader's node deleted, the waiting contender's watch told, the
  contenders listed again.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from faaskeeper_deploy.bench.common import BLOCK, WATCHER_TIMEOUT, BenchError, counted
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.systems import System, remove_on_exit


class _Contender:
    """One contender of an election, in a session of its own, running for leader again and again.

    Each time it leads it says so on ``leading`` (with the time it started to lead) and leads
    until it is told to resign."""

    def __init__(self, client: Any, path: str, name: str, leading: queue.Queue[tuple[_Contender, int]]) -> None:
        self.name = name
        self._client = client
        self._leading = leading
        self._election = client.Election(path, name)
        self._resign = threading.Event()
        self._stopped = False
        #: What ended the contender's runs for leader, if anything did.
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name=f"bench-contender-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from kazoo.exceptions import CancelledError

        while not self._stopped:
            try:
                self._election.run(self._lead)
            except CancelledError:
                return
            except Exception as err:  # told to the bench's thread, which waits for this contender
                self.error = err
                self._leading.put((self, 0))
                return

    def _lead(self) -> None:
        self._leading.put((self, time.perf_counter_ns()))
        self._resign.wait()
        self._resign.clear()

    def resign(self) -> None:
        self._resign.set()

    def stop(self) -> None:
        self._stopped = True
        self._election.cancel()
        self._resign.set()
        self._thread.join(timeout=WATCHER_TIMEOUT)


@dataclass
class _Election:
    """An election of two contenders on one system, and a client that watches it."""

    path: str
    observer: Any
    leader: _Contender
    leading: queue.Queue[tuple[_Contender, int]]

    def await_both(self, system: System) -> None:
        """Until the contender that resigned last has joined again: a round hands over to it."""
        deadline = time.monotonic() + WATCHER_TIMEOUT
        while len(self.observer.get_children(self.path)) < 2:
            if time.monotonic() > deadline:
                raise BenchError(f"{system.name}: a contender did not join the election within {WATCHER_TIMEOUT:g} s")
            time.sleep(0.001)


def _handovers(system: System, election: _Election, rounds: int) -> list[int]:
    """``rounds`` handovers from the leader to the other contender, each one's time (ns)."""
    samples = []
    leader, leading = election.leader, election.leading
    for _ in range(rounds):
        check_interrupt()
        election.await_both(system)
        start = time.perf_counter_ns()
        leader.resign()
        try:
            new, leads_at = leading.get(timeout=WATCHER_TIMEOUT)
        except queue.Empty:
            raise BenchError(
                f"{system.name}: no contender led within {WATCHER_TIMEOUT:g} s of the leader's resigning"
            ) from None
        if new.error is not None:
            raise BenchError(f"{system.name}: contender {new.name} failed: {type(new.error).__name__}: {new.error}")
        if new is leader:
            raise BenchError(f"{system.name}: the contender that resigned led again before the other one")
        samples.append(leads_at - start)
        leader = election.leader = new
    return samples


def _locks(lock: Any, rounds: int) -> tuple[list[int], list[int]]:
    clock = time.perf_counter_ns
    acquired, released = [], []
    for _ in range(rounds):
        check_interrupt()
        start = clock()
        lock.acquire()
        middle = clock()
        lock.release()
        acquired.append(middle - start)
        released.append(clock() - middle)
    return acquired, released


def run_recipes(
    stack: ExitStack,
    systems: Sequence[System],
    root: str,
    repetitions: int,
    warmup: int,
    progress: Progress,
) -> None:
    locks: dict[str, Any] = {}
    elections: dict[str, _Election] = {}
    for system in systems:
        remove_on_exit(stack, system, root)
        system.create(root, b"")
        clients = [system.kazoo_client() for _ in range(3)]
        for client in clients:
            stack.callback(_stop_kazoo, client)
            client.start()
        locks[system.name] = clients[0].Lock(f"{root}/lock", "bench")
        leading: queue.Queue[tuple[_Contender, int]] = queue.Queue()
        contenders = [_Contender(client, f"{root}/election", f"c{i}", leading) for i, client in enumerate(clients[1:])]
        for contender in contenders:
            stack.callback(contender.stop)
        try:
            first, _at = leading.get(timeout=WATCHER_TIMEOUT)
        except queue.Empty:
            raise BenchError(f"{system.name}: no contender was elected within {WATCHER_TIMEOUT:g} s") from None
        if first.error is not None:
            raise BenchError(
                f"{system.name}: contender {first.name} failed: {type(first.error).__name__}: {first.error}"
            )
        elections[system.name] = _Election(f"{root}/election", clients[0], first, leading)

    progress.phase(
        f"measuring lock_acquire and lock_release ({counted(repetitions, 'round')} after "
        f"{counted(warmup, 'warm-up round')} per system)",
        (repetitions + warmup) * len(systems),
    )
    for system in systems:
        _locks(locks[system.name], warmup)
        progress.advance(warmup)
    for block, done in enumerate(range(0, repetitions, BLOCK)):
        count = min(BLOCK, repetitions - done)
        for system in systems if block % 2 == 0 else reversed(systems):
            acquired, released = _locks(locks[system.name], count)
            system.samples.setdefault("lock_acquire", []).extend(acquired)
            system.samples.setdefault("lock_release", []).extend(released)
            progress.advance(count)

    progress.phase(
        f"measuring election_round ({counted(repetitions, 'handover')} after "
        f"{counted(warmup, 'warm-up round')} per system)",
        (repetitions + warmup) * len(systems),
    )
    for system in systems:
        _handovers(system, elections[system.name], warmup)
        progress.advance(warmup)
    for block, done in enumerate(range(0, repetitions, BLOCK)):
        count = min(BLOCK, repetitions - done)
        for system in systems if block % 2 == 0 else reversed(systems):
            samples = _handovers(system, elections[system.name], count)
            system.samples.setdefault("election_round", []).extend(samples)
            progress.advance(count)


def _stop_kazoo(client: Any) -> None:
    with contextlib.suppress(Exception):  # cleanup of a client that may already have failed
        client.stop()
        client.close()
