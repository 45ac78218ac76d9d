"""A Wing-Gong linearizability search with Lowe's memoisation, over any sequential model.

An operation may be linearized next only if it was invoked before every not yet linearized
operation returned. Each (set of linearized operations, model state) pair is explored once, so a
history of a few hundred operations with a handful of concurrent clients is checked in a fraction
of a second. An operation without a response may take effect at any time after its invocation,
or never; the model's step says which states it may lead to.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

S = TypeVar("S", bound=Hashable)
Op = TypeVar("Op")

#: ``step(state, op)``: the states ``op`` may lead to from ``state``; none if it cannot happen there.
Step = Callable[[S, Op], Iterable[S]]


@dataclass(frozen=True)
class Timed(Generic[Op]):
    op: Op
    invoke: float
    #: None: no response, so the operation may also never take effect.
    complete: float | None


@dataclass(frozen=True)
class Outcome(Generic[Op]):
    linearizable: bool
    #: False when the search stopped at its budget without an answer.
    conclusive: bool
    #: The operations in one valid order (if linearizable).
    order: tuple[Op, ...] = ()
    #: If not: the longest order found, and the operations none of its extensions can place next.
    longest: tuple[Op, ...] = ()
    stuck: tuple[Op, ...] = ()
    explored: int = 0


def linearize(ops: Sequence[Timed[Op]], initial: S, step: Step[S, Op], budget: int = 2_000_000) -> Outcome[Op]:
    """Search for an order of ``ops`` that respects real time and that ``step`` accepts from ``initial``."""
    order = sorted(range(len(ops)), key=lambda i: ops[i].invoke)
    completes = [_deadline(ops[i]) for i in order]
    invokes = [ops[i].invoke for i in order]
    count = len(order)
    required = 0
    for position, i in enumerate(order):
        if ops[i].complete is not None:
            required |= 1 << position
    # Search nodes: (mask, state, parent node, position linearized last); paths are rebuilt from parents.
    nodes: list[tuple[int, S, int, int]] = [(0, initial, -1, -1)]
    depths = [0]
    stack = [0]
    seen = {(0, initial)}
    best = 0
    while stack:
        current = stack.pop()
        mask, state, _, _ = nodes[current]
        if mask & required == required:
            return Outcome(True, True, order=_path(ops, order, nodes, current), explored=len(nodes))
        if depths[current] > depths[best]:
            best = current
        if len(nodes) > budget:
            return Outcome(False, False, longest=_path(ops, order, nodes, best), explored=len(nodes))
        for position in _candidates(mask, invokes, completes, count):
            for nxt in step(state, ops[order[position]].op):
                key = (mask | 1 << position, nxt)
                if key not in seen:
                    seen.add(key)
                    nodes.append((key[0], nxt, current, position))
                    depths.append(depths[current] + 1)
                    stack.append(len(nodes) - 1)
    mask = nodes[best][0]
    stuck = tuple(ops[order[p]].op for p in _candidates(mask, invokes, completes, count))
    return Outcome(False, True, longest=_path(ops, order, nodes, best), stuck=stuck, explored=len(nodes))


def _candidates(mask: int, invokes: list[float], completes: list[float], count: int) -> list[int]:
    """Positions not in ``mask`` invoked before every position not in ``mask`` returned."""
    low = (~mask & (mask + 1)).bit_length() - 1  # the first position not yet linearized
    horizon = math.inf
    window = []
    for position in range(low, count):
        if invokes[position] > horizon:
            break  # later ones were invoked after it, so returned after it too
        if not mask >> position & 1:
            window.append(position)
            horizon = min(horizon, completes[position])
    return [p for p in window if invokes[p] <= horizon]


def _path(ops: Sequence[Timed[Op]], order: list[int], nodes: list[tuple[int, S, int, int]], at: int) -> tuple[Op, ...]:
    found = []
    while at > 0:
        _, _, parent, position = nodes[at]
        found.append(ops[order[position]].op)
        at = parent
    return tuple(reversed(found))


def _deadline(op: Timed[Op]) -> float:
    return math.inf if op.complete is None else op.complete
