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
    required = 0
    for position, i in enumerate(order):
        if ops[i].complete is not None:
            required |= 1 << position
    start = (0, initial)
    stack: list[tuple[int, S, tuple[int, ...]]] = [(0, initial, ())]
    seen = {start}
    best: tuple[int, ...] = ()
    explored = 0
    while stack:
        mask, state, path = stack.pop()
        explored += 1
        if mask & required == required:
            return Outcome(True, True, order=tuple(ops[order[p]].op for p in path), explored=explored)
        if len(path) > len(best):
            best = path
        if explored > budget:
            return Outcome(False, False, longest=_ops(ops, order, best), explored=explored)
        horizon = math.inf
        for position, done in enumerate(completes):
            if not mask >> position & 1 and done < horizon:
                horizon = done
        for position, invoked in enumerate(invokes):
            if invoked > horizon:
                break
            if mask >> position & 1:
                continue
            for nxt in step(state, ops[order[position]].op):
                key = (mask | 1 << position, nxt)
                if key not in seen:
                    seen.add(key)
                    stack.append((key[0], nxt, (*path, position)))
    stuck_mask = 0
    for p in best:
        stuck_mask |= 1 << p
    horizon = min((c for p, c in enumerate(completes) if not stuck_mask >> p & 1), default=math.inf)
    stuck = tuple(
        ops[order[p]].op for p, invoked in enumerate(invokes) if invoked <= horizon and not stuck_mask >> p & 1
    )
    return Outcome(False, True, longest=_ops(ops, order, best), stuck=stuck, explored=explored)


def _deadline(op: Timed[Op]) -> float:
    return math.inf if op.complete is None else op.complete


def _ops(ops: Sequence[Timed[Op]], order: list[int], positions: tuple[int, ...]) -> tuple[Op, ...]:
    return tuple(ops[order[p]].op for p in positions)
