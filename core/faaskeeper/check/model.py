"""The sequential model of one node that the linearizability search runs calls against.

A state is None (no node) or (data, version, owner). A call's recorded outcome says what must
have held when it took effect: a successful conditional set saw its version, a NodeExists failure
saw the node, a create returned version 0. The end of a session deletes the node if it owns it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from faaskeeper import paths
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


#: A parent's child counter (its cversion), which names the sequential nodes created under it:
#: the key of ``parent`` is ``COUNTER + parent``; its value is None until a result shows it.
COUNTER = "cversion:"
#: What the search tracks under a key: a node's state, or a parent's counter.
Slot = NodeState | int
#: The states of several nodes that transactions tie together, by key, in key order.
Nodes = tuple[tuple[str, Slot], ...]
#: The failures a multi reports for the operations other than the one that failed.
NOT_RUN = frozenset({"RolledBack", "RuntimeInconsistency"})


def counter_key(path: str) -> str:
    """The key of the counter of the parent of ``path``."""
    return COUNTER + paths.parent(path)


def step_nodes(state: Nodes, op: NodeOp) -> Iterator[Nodes]:
    """The states ``op`` may lead to from ``state``: a single call changes its node, a multi
    all of its nodes at once or none, the end of a session every node it owns. A create or
    delete under a parent whose counter is tracked moves the counter too."""
    nodes: dict[str, Slot] = dict(state)
    if isinstance(op, EndOfSession):
        after = dict(nodes)
        for path, node in state:
            if path.startswith(COUNTER) or node is None or isinstance(node, int):
                continue
            if next(step(node, op)) is None:
                after[path] = None
                _bump(after, path)
        yield tuple((path, after[path]) for path, _node in state)
        return
    if op.op != "multi" and op.op in ("create", "delete") and (op.sequential or counter_key(op.path) in nodes):
        op = as_multi(op)
    if op.op != "multi":
        for changed in step(_node_at(nodes, op.path), op):
            yield tuple((path, changed if path == op.path else node) for path, node in state)
        return
    applied = _apply_multi(nodes, op)
    if not op.known:
        yield state
        if applied is not None:
            yield tuple((path, applied[0][path]) for path, _node in state)
        return
    if op.ok:
        if applied is not None and _multi_matches(applied[1], op):
            yield tuple((path, applied[0][path]) for path, _node in state)
        return
    if _multi_failure_fits(nodes, op):
        yield state


def as_multi(call: Call) -> Call:
    """A single create or delete as a transaction of one operation, with the same outcome."""
    part = {
        "op": call.op,
        "path": call.path,
        "data": call.data,
        "version": call.version,
        "ephemeral": call.ephemeral,
        "sequential": call.sequential,
    }
    result: dict[str, object] | None = None
    if call.ok and isinstance(call.result, dict):
        result = {"txn": call.result.get("czxid"), "paths": [call.result.get("path")]}
    elif call.known and not call.ok:
        result = {"failed": 0}
    return replace(call, op="multi", ops=[part], result=result)


def _node_at(nodes: dict[str, Slot], path: str) -> NodeState:
    node = nodes[path]
    assert not isinstance(node, int), f"{path} is a counter"
    return node


def _bump(nodes: dict[str, Slot], path: str) -> None:
    """A child of ``path``'s parent was created or deleted: its counter moves on, if known."""
    key = counter_key(path)
    counter = nodes.get(key)
    if isinstance(counter, int):
        nodes[key] = counter + 1


#: Per operation of a multi: a set's new version, a create's path (None: not known), else None.
Outcomes = list[int | str | None]


def _apply_multi(nodes: dict[str, Slot], op: Call) -> tuple[dict[str, Slot], Outcomes] | None:
    """The nodes after every operation of ``op`` succeeds in order, and what each returned; None
    if one would fail. A sequential create is named by its parent's counter as the operations
    before it leave it (or, while the counter is not known, by the multi's recorded result)."""
    after = dict(nodes)
    outcomes: Outcomes = []
    recorded = op.result.get("paths") if op.ok and isinstance(op.result, dict) else None
    for index, part in enumerate(op.parts()):
        if part.op == "check":
            state = after.get(part.path)
            if state is None or isinstance(state, int) or part.version not in (-1, state[1]):
                return None
            outcomes.append(None)
            continue
        path: str | None = part.path
        if part.op == "create" and part.sequential:
            path = _sequential_name(after, part, recorded[index] if recorded and index < len(recorded) else None)
        if path is not None and path in after:
            applied = _apply(_node_at(after, path), replace(part, path=path))
            if isinstance(applied, _Refused):
                return None
            after[path] = applied
        if part.op in ("create", "delete"):
            _bump(after, part.path)
        outcomes.append(path if part.op == "create" else _version(after, path) if part.op == "set" else None)
    return after, outcomes


def _sequential_name(nodes: dict[str, Slot], part: Call, recorded: object) -> str | None:
    """The name of a sequential create from its parent's counter; while the counter is unknown,
    the recorded name, which then sets it."""
    key = counter_key(part.path)
    counter = nodes.get(key)
    if isinstance(counter, int):
        return paths.sequential(part.path, counter)
    if key in nodes and isinstance(recorded, str) and recorded[-paths.SEQUENTIAL_DIGITS :].isdigit():
        nodes[key] = int(recorded[-paths.SEQUENTIAL_DIGITS :])
        return recorded
    return None


def _version(nodes: dict[str, Slot], path: str | None) -> int | None:
    state = nodes.get(path) if path is not None else None
    return state[1] if isinstance(state, tuple) else None


def _multi_matches(outcomes: Outcomes, op: Call) -> bool:
    """Whether the multi's recorded results are the ones its operations return in the model."""
    result = op.result if isinstance(op.result, dict) else {}
    versions, made = result.get("versions"), result.get("paths")
    for index, part in enumerate(op.parts()):
        outcome = outcomes[index]
        if outcome is None:
            continue
        recorded = versions if part.op == "set" else made if part.op == "create" else None
        if recorded is not None and index < len(recorded) and recorded[index] not in (None, outcome):
            return False
    return True


def _multi_failure_fits(nodes: dict[str, Slot], op: Call) -> bool:
    """Whether the operation the multi says failed fails, with its error, where the operations
    before it leave the nodes, and those before it succeed."""
    if op.error in UNRELATED_ERRORS:
        return True
    failed = op.result.get("failed") if isinstance(op.result, dict) else None
    parts = op.parts()
    if not isinstance(failed, int) or not 0 <= failed < len(parts):
        return False
    before = _apply_multi(nodes, replace(op, ok=None, ops=(op.ops or [])[:failed]))
    if before is None:
        return False
    after = before[0]
    part = replace(parts[failed], ok=False, error=op.error)
    if part.op == "check":
        state = after.get(part.path)
        return (state is None and op.error == "NoNode") or (
            isinstance(state, tuple) and op.error == "BadVersion" and state[1] != part.version
        )
    if part.op == "create" and part.sequential:
        name = _sequential_name(after, part, None)
        if name is None:
            return op.error in ("NodeExists", "NoNode")
        if name not in after:
            # No call named a node so: it was never created (the counter only grows).
            return op.error == "NoNode"
        part = replace(part, path=name)
    if part.path not in after:
        return op.error in ("NodeExists", "NoNode", "NotEmpty")
    return _failure_fits(_node_at(after, part.path), part)


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
