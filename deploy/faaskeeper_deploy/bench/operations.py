"""The operations workload of ``fk bench``: each operation timed call by call, in alternating blocks."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from faaskeeper_deploy.bench.common import BLOCK, CHILDREN, OPERATIONS, BenchError, counted
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.systems import System, remove_on_exit


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


def _prepare(system: System, layout: _Layout, value: bytes) -> None:
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


def _check(system: System, path: str, ok: bool, message: str) -> None:
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
        check_interrupt()
        start = clock()
        fn(*args)
        samples.append(clock() - start)
    return samples


def _measure(
    systems: Sequence[System],
    layouts: dict[str, _Layout],
    op: str,
    value: bytes,
    repetitions: int,
    warmup: int,
    progress: Progress,
) -> None:
    # Filled block by block, so that an interrupted run keeps the blocks it measured.
    samples: dict[str, list[int]] = {s.name: s.samples.setdefault(op, []) for s in systems}
    for system in systems:
        _timed(system.ops[op], _arguments(op, layouts[system.name], value, "w", 0, warmup))
        progress.advance(warmup)
    gc.collect()
    done = 0
    block = 0
    while done < repetitions:
        count = min(BLOCK, repetitions - done)
        # Alternate which system goes first, so neither always follows the other's work.
        for system in systems if block % 2 == 0 else reversed(systems):
            args = _arguments(op, layouts[system.name], value, "n", done, count)
            samples[system.name].extend(_timed(system.ops[op], args))
            progress.advance(count)
        done += count
        block += 1


def run_operations(
    stack: ExitStack,
    systems: Sequence[System],
    root: str,
    value: bytes,
    repetitions: int,
    warmup: int,
    progress: Progress,
) -> None:
    layouts: dict[str, _Layout] = {}
    for system in systems:
        layouts[system.name] = _Layout(root)
        remove_on_exit(stack, system, root)
        _prepare(system, layouts[system.name], value)
    for op in OPERATIONS:
        progress.phase(
            f"measuring {op} ({counted(repetitions, 'call')} after {counted(warmup, 'warm-up call')} per system)",
            (repetitions + warmup) * len(systems),
        )
        _measure(systems, layouts, op, value, repetitions, warmup, progress)
    for system in systems:
        _check(
            system,
            layouts[system.name].nodes,
            system.children(layouts[system.name].nodes) == [],
            "nodes remain after deleting all that were created",
        )
