"""The sequential model of one node that the linearizability search runs calls against.

A state is None (no node) or (data, version, owner). A call's recorded outcome says what must
have held when it took effect: a successful conditional set saw its version, a NodeExists failure
saw the node, a create returned version 0. The end of a session deletes the node if it owns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from faaskeeper.check.history import Call

#: (data hex, version, ephemeral owner)
NodeState = tuple[str, int, str | None] | None

#: Failures that say nothing about the node (its parent, the session) and change nothing. A
#: call whose outcome is unknown (ConnectionLoss, a timeout) is recorded without a response.
UNRELATED_ERRORS = frozenset({"NoChildrenForEphemerals", "SessionExpired", "SessionClosing"})
#: Failures of a write the service took and decided: its session was alive then.
DECIDED_ERRORS = frozenset({"NodeExists", "NoNode", "NotEmpty", "BadVersion", "NoChildrenForEphemerals"})


@dataclass(frozen=True)
class EndOfSession:
    """The implicit deletion of a session's ephemeral nodes when it ends."""

    session: str


NodeOp = Call | EndOfSession


def step(state: NodeState, op: NodeOp) -> Iterator[NodeState]:
    """The states ``op`` may lead to from ``state``."""
    if isinstance(op, EndOfSession):
        yield None if state is not None and state[2] == op.session else state
        return
    if not op.known:
        yield state  # never took effect
        applied = _apply(state, op)
        if not isinstance(applied, _Refused):
            yield applied
        return
    if op.ok:
        applied = _apply(state, op)
        if not isinstance(applied, _Refused) and _matches_result(state, applied, op):
            yield applied
        return
    if _failure_fits(state, op):
        yield state


class _Refused:
    pass


_REFUSED = _Refused()


def _apply(state: NodeState, op: Call) -> NodeState | _Refused:
    """The state after ``op`` succeeds from ``state``, or _REFUSED if it would fail there."""
    if op.op == "create":
        if state is not None:
            return _REFUSED
        return (op.data or "", 0, op.session if op.ephemeral else None)
    if op.op in ("set", "delete"):
        if state is None or op.version not in (-1, state[1]):
            return _REFUSED
        return (op.data or "", state[1] + 1, state[2]) if op.op == "set" else None
    if op.op in ("get", "exists"):
        return state
    return _REFUSED


def _matches_result(before: NodeState, after: NodeState | _Refused, op: Call) -> bool:
    result = op.result if isinstance(op.result, dict) else None
    if op.op == "set":
        return result is None or (isinstance(after, tuple) and result.get("version") == after[1])
    if op.op == "get":
        return before is not None and result is not None and (result["data"], result["version"]) == before[:2]
    if op.op == "exists":
        if before is None or result is None:
            return before is None and result is None
        return bool(result["version"] == before[1])
    return True


def _failure_fits(state: NodeState, op: Call) -> bool:
    error = op.error
    if error in UNRELATED_ERRORS:
        return True
    if error == "NodeExists":
        return state is not None
    if error == "NoNode":
        # A create fails with NoNode when its parent is missing, which this node does not decide.
        return op.op == "create" or state is None
    if error == "BadVersion":
        return state is not None and state[1] != op.version
    if error == "NotEmpty":
        return state is not None
    return False
