"""The sequential model of one node that the linearizability search runs calls against.

A state is None (no node) or (data, version, owner). A call's recorded outcome says what must
have held when it took effect: a successful conditional set saw its version, a NodeExists failure
saw the node, a create returned version 0. The end of a session deletes the node if it owns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

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


#: The states of several nodes that transactions tie together, by path, in path order.
Nodes = tuple[tuple[str, NodeState], ...]
#: The failures a multi reports for the operations other than the one that failed.
NOT_RUN = frozenset({"RolledBack", "RuntimeInconsistency"})


def step_nodes(state: Nodes, op: NodeOp) -> Iterator[Nodes]:
    """The states ``op`` may lead to from ``state``: a single call changes its node, a multi
    all of its nodes at once or none, the end of a session every node it owns."""
    nodes = dict(state)
    if isinstance(op, EndOfSession):
        yield tuple((path, next(step(node, op))) for path, node in state)
        return
    if op.op != "multi":
        for after in step(nodes[op.path], op):
            yield tuple((path, after if path == op.path else node) for path, node in state)
        return
    applied = _apply_multi(nodes, op)
    if not op.known:
        yield state
        if applied is not None:
            yield tuple((path, applied[path]) for path, _node in state)
        return
    if op.ok:
        if applied is not None and _multi_matches(applied, op):
            yield tuple((path, applied[path]) for path, _node in state)
        return
    if _multi_failure_fits(nodes, op):
        yield state


def _apply_multi(nodes: dict[str, NodeState], op: Call) -> dict[str, NodeState] | None:
    """The nodes after every operation of ``op`` succeeds in order, or None if one would fail."""
    after = dict(nodes)
    for part in op.parts():
        if part.op == "check":
            state = after[part.path]
            if state is None or part.version not in (-1, state[1]):
                return None
            continue
        applied = _apply(after[part.path], part)
        if isinstance(applied, _Refused):
            return None
        after[part.path] = applied
    return after


def _multi_matches(after: dict[str, NodeState], op: Call) -> bool:
    versions = op.result.get("versions") if isinstance(op.result, dict) else None
    if versions is None:
        return True
    for part, version in zip(op.parts(), versions, strict=False):
        state = after[part.path]
        if part.op == "set" and version is not None and (state is None or state[1] != version):
            return False
    return True


def _multi_failure_fits(nodes: dict[str, NodeState], op: Call) -> bool:
    """Whether the operation the multi says failed fails, with its error, where the operations
    before it leave the nodes, and those before it succeed."""
    if op.error in UNRELATED_ERRORS:
        return True
    failed = op.result.get("failed") if isinstance(op.result, dict) else None
    parts = op.parts()
    if not isinstance(failed, int) or not 0 <= failed < len(parts):
        return False
    before = _apply_multi(nodes, replace(op, ops=(op.ops or [])[:failed]))
    if before is None:
        return False
    part = replace(parts[failed], ok=False, error=op.error)
    if part.op == "check":
        state = before[part.path]
        return (state is None and op.error == "NoNode") or (
            state is not None and op.error == "BadVersion" and state[1] != part.version
        )
    return _failure_fits(before[part.path], part)


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
        return state is not None and op.version != -1 and state[1] != op.version
    if error == "NotEmpty":
        return state is not None
    return False
