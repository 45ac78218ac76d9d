"""The siblings workload of ``fk bench``: create, get_children and delete of one node among N siblings.

A fresh parent is filled with N children through the async API (pipelined creates, ``FILL_DEPTH``
in flight, as any client may send them), then each round times a create of one more child, the
parent's get_children (N + 1 names) and the delete of that child, so the parent holds N children
at the start of every round. Rounds go in alternating blocks between the systems, as in the
operations workload. Run for several N (``--siblings``), the medians show how each operation grows
with the number of siblings: ZooKeeper keeps a node's children as a set, so its figures should not.

After each system's fill the run records the bench process's resident set and, on the local
provider, the size of the deployment's file and of its write-ahead log
(:mod:`~faaskeeper_deploy.bench.memory`).
"""

from __future__ import annotations

import gc
import itertools
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from faaskeeper_deploy.bench.common import BLOCK, BenchError, counted
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.memory import deployment_file_sizes, rss_bytes
from faaskeeper_deploy.bench.pipeline import pipelined
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.systems import FaaSKeeperSystem, System, remove_on_exit

#: Creates (and the deletes of the cleanup) in flight while a parent is filled.
FILL_DEPTH = 32


def sibling_name(index: int) -> str:
    """The name of the ``index``-th filled sibling: short (hex, at most 5 characters below 2**20),
    so that ZooKeeper's reply to get_children among 100,000 stays within its 1 MB packet limit."""
    return f"{index:x}"


def _submitter(call: Callable[..., Any], paths: Sequence[str], *args: Any) -> Callable[[], Any]:
    """A function that sends ``call`` on the next of ``paths`` each time it is called."""
    remaining = iter(paths)
    return lambda: call(next(remaining), *args)


def _fill(system: System, parent: str, siblings: int, value: bytes, progress: Progress) -> None:
    paths = [f"{parent}/{sibling_name(i)}" for i in range(siblings)]
    pipelined(_submitter(system.async_ops["create"], paths, value), siblings, FILL_DEPTH, [], progress)


def _remover(system: System, parent: str) -> Callable[[str], None]:
    """Remove a run's tree, its many siblings by pipelined deletes rather than one call at a time; a
    throwaway deployment is left to go with its directory."""

    def remove(root: str) -> None:
        if system.description.get("throwaway"):
            return
        if system.ops["exists"](parent) is not None:
            paths = [f"{parent}/{name}" for name in system.children(parent)]
            pipelined(_submitter(system.async_ops["delete"], paths), len(paths), FILL_DEPTH, [], Progress())
        system.remove_tree(root)

    return remove


def _round(system: System, parent: str, value: bytes, name: str, siblings: int) -> tuple[int, int, int]:
    """One round: the nanoseconds of the create, the get_children and the delete."""
    clock = time.perf_counter_ns
    path = f"{parent}/{name}"
    ops = system.ops
    start = clock()
    ops["create"](path, value)
    created = clock()
    listed = ops["get_children"](parent)
    children = clock()
    ops["delete"](path)
    deleted = clock()
    if len(listed) != siblings + 1:
        raise BenchError(f"{system.name}: get_children listed {len(listed)} children of {parent}, not {siblings + 1}")
    return created - start, children - created, deleted - children


def _measure(
    systems: Sequence[System],
    parent: str,
    value: bytes,
    siblings: int,
    repetitions: int,
    warmup: int,
    progress: Progress,
) -> None:
    samples = {s.name: [s.samples.setdefault(op, []) for op in ("create", "get_children", "delete")] for s in systems}
    for system in systems:
        for i in range(warmup):
            check_interrupt()
            _round(system, parent, value, f"w{i:x}", siblings)
        progress.advance(warmup)
    gc.collect()
    done = 0
    for block in itertools.count():
        if done >= repetitions:
            break
        count = min(BLOCK, repetitions - done)
        for system in systems if block % 2 == 0 else reversed(systems):
            create, get_children, delete = samples[system.name]
            for i in range(done, done + count):
                check_interrupt()
                times = _round(system, parent, value, f"t{i:x}", siblings)
                create.append(times[0])
                get_children.append(times[1])
                delete.append(times[2])
            progress.advance(count)
        done += count


def run_siblings(
    stack: ExitStack,
    systems: Sequence[System],
    root: str,
    value: bytes,
    repetitions: int,
    warmup: int,
    siblings: int,
    progress: Progress,
) -> None:
    parent = f"{root}/siblings"
    for system in systems:
        remove_on_exit(stack, system, root, _remover(system, parent))
        before = rss_bytes()
        system.create(root, b"")
        system.create(parent, b"")
        progress.phase(f"filling {parent} on {system.name} with {counted(siblings, 'sibling')}", siblings)
        _fill(system, parent, siblings, value, progress)
        filled = len(system.children(parent))
        if filled != siblings:
            raise BenchError(f"{system.name}: {parent} has {filled} children after creating {siblings}")
        gc.collect()
        after = rss_bytes()
        system.memory = {"rss_bytes": after, "rss_growth_bytes": after - before}
        if isinstance(system, FaaSKeeperSystem):
            system.memory.update(deployment_file_sizes(system.config))
    progress.phase(
        f"measuring create, get_children and delete among {counted(siblings, 'sibling')} "
        f"({counted(repetitions, 'round')} after {counted(warmup, 'warm-up round')} per system)",
        (repetitions + warmup) * len(systems),
    )
    _measure(systems, parent, value, siblings, repetitions, warmup, progress)
