"""The checker's properties that follow one session, or one parent's sequential children: each
returns a message per violation (see :mod:`faaskeeper.check.checker`)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from itertools import pairwise

from faaskeeper.check.history import Call, History, WatchNotice

#: The notifications that answer a watch set by each read.
FIRED_BY = {
    "get": {"NodeDataChanged", "NodeDeleted"},
    "exists": {"NodeCreated", "NodeDataChanged", "NodeDeleted"},
    "children": {"NodeChildrenChanged", "NodeDeleted"},
}


def _name(call: Call) -> str:
    return f"{call.session}#{call.index} {call.op} {call.path}"


def fifo(history: History) -> list[str]:
    """Responses arrive in issue order; successful writes' transactions increase in issue order."""
    problems = []
    for session, calls in history.sessions().items():
        answered = [(c.completed, c) for c in calls if c.completed is not None]
        for (first, before), (then, after) in pairwise(answered):
            if then < first:
                problems.append(f"{_name(after)} completed before {_name(before)}, issued earlier by {session}")
        last: tuple[int, Call] | None = None
        for call in calls:
            zxid = _zxid(call)
            if zxid is None:
                continue
            if last is not None and zxid <= last[0]:
                problems.append(f"{_name(call)} took effect at {zxid}, before {_name(last[1])} at {last[0]}")
            last = (zxid, call)
    return problems


def _zxid(call: Call) -> int | None:
    if not call.ok or not isinstance(call.result, dict):
        return None
    key = {"create": "czxid", "set": "mzxid", "multi": "txn"}.get(call.op)
    zxid = call.result.get(key) if key is not None else None
    return int(zxid) if zxid is not None else None


def _seen(call: Call) -> int | None:
    """The modification transaction of the node a successful call saw or wrote."""
    if not call.ok or not isinstance(call.result, dict):
        return None
    if call.op in ("get", "exists"):
        return int(call.result["mzxid"])
    return _zxid(call)


def monotonic(history: History) -> list[str]:
    """A session's reads of a node never return an older version than it saw or wrote before."""
    problems = []
    for calls in history.sessions().values():
        newest: dict[str, tuple[int, Call]] = {}
        for call in calls:
            zxid = _seen(call)
            path = call.result.get("path", call.path) if call.op == "create" and zxid is not None else call.path
            if zxid is None:
                continue
            before = newest.get(path)
            if before is not None and zxid < before[0] and call.op in ("get", "exists"):
                problems.append(f"{_name(call)} read transaction {zxid} after {_name(before[1])} saw {before[0]}")
            if before is None or zxid > before[0]:
                newest[path] = (zxid, call)
    return problems


def _with_parts(calls: list[Call]) -> list[Call]:
    """The calls, a multi's operations among them as calls with its outcome and each its version."""
    found = []
    for call in calls:
        if call.op != "multi":
            found.append(call)
            continue
        versions = call.result.get("versions", []) if call.ok and isinstance(call.result, dict) else []
        for i, part in enumerate(call.parts()):
            version = versions[i] if i < len(versions) else None
            result = {"version": version} if call.ok and version is not None else None
            if call.known and call.ok and part.op == "create":
                result = {}
            if call.known and not call.ok:
                continue  # applied nothing
            found.append(replace(part, ok=call.ok if call.known else None, result=result))
    return found


def reads_were_written(history: History) -> list[str]:
    """Every (data, version) a read returned was written by a create or set invoked before the read returned."""
    written: dict[tuple[str, str, int], float] = {}
    unknown: dict[str, float] = {}
    for call in _with_parts(history.calls):
        if call.op == "create" and not call.sequential and call.ok is not False:
            key = (call.path, call.data or "", 0)
        elif call.op == "set" and call.ok and isinstance(call.result, dict):
            key = (call.path, call.data or "", int(call.result["version"]))
        else:
            if call.op == "set" and not call.known:
                unknown[call.path] = min(unknown.get(call.path, call.invoke), call.invoke)
            continue
        written[key] = min(written.get(key, call.invoke), call.invoke)
    problems = []
    for call in history.calls:
        if call.op != "get" or not call.ok or not isinstance(call.result, dict) or call.complete is None:
            continue
        key = (call.path, call.result["data"], int(call.result["version"]))
        invoked = written.get(key)
        if invoked is not None and invoked <= call.complete:
            continue
        if unknown.get(call.path, call.complete + 1) <= call.complete:
            continue  # a set without a response may have written it (its version is unknown)
        problems.append(f"{_name(call)} read {key[1]!r} at version {key[2]}, which no write produced before")
    return problems


def _observed(call: Call) -> object:
    """What a read showed that a watch's notification is about."""
    if call.op == "children":
        return tuple(call.result or ()) if call.ok else None
    if call.ok and isinstance(call.result, dict):
        return (call.result["czxid"], call.result["mzxid"])
    return None


def watch_before_data(history: History) -> list[str]:
    """A read showing a change to a node a session watches comes after the change's notification;
    each notification answers a watch the session set before it."""
    notices: dict[tuple[str, str], list[WatchNotice]] = defaultdict(list)
    for notice in history.notices:
        notices[(notice.session, notice.path)].append(notice)
    problems = []
    for session, calls in history.sessions().items():
        watches = [c for c in calls if c.watch and c.known and (c.ok or c.op == "exists")]
        for watch in watches:
            events = FIRED_BY[watch.op]
            seen = _observed(watch)
            later = [
                c
                for c in calls
                if c.index > watch.index and c.known and c.path == watch.path and c.op in _comparable(watch.op)
            ]
            for read in later:
                if _observed(read) == seen or read.complete is None:
                    continue
                told = [
                    n
                    for n in notices[(session, watch.path)]
                    if n.event in events and watch.invoke <= n.time <= read.complete
                ]
                if not told:
                    problems.append(
                        f"{_name(read)} showed a change to {watch.path} before {session} was told of it "
                        f"(watch set by {_name(watch)})"
                    )
                break  # the watch is one-shot: the first read that shows a change settles it
    for (session, path), received in notices.items():
        set_before = [c for c in history.calls if c.session == session and c.watch and c.path == path]
        for notice in received:
            if not any(c.invoke <= notice.time and notice.event in FIRED_BY[c.op] for c in set_before):
                problems.append(f"{session} was told {notice.event} {path} (txn {notice.txn}) without a watch on it")
    return problems


def _comparable(op: str) -> set[str]:
    return {"children"} if op == "children" else {"get", "exists"}


def sequential_suffixes(history: History) -> list[str]:
    """Under each parent, sequential suffixes are unique and increase with the creating transaction."""
    created: dict[str, list[tuple[int | None, int, Call]]] = defaultdict(list)
    for call in history.calls:
        if call.op == "create" and call.sequential and call.ok and isinstance(call.result, dict):
            name = str(call.result["path"])
            parent = call.path.rsplit("/", 1)[0] or "/"
            created[parent].append((int(call.result["czxid"]), int(name[-10:]), call))
        elif call.op == "multi" and call.ok and isinstance(call.result, dict):
            # A transaction's sequential creates share its id; its result names each.
            made = call.result.get("paths") or []
            txn = call.result.get("txn")
            for part, name in zip(call.parts(), made, strict=False):
                if part.op == "create" and part.sequential and isinstance(name, str):
                    parent = part.path.rsplit("/", 1)[0] or "/"
                    created[parent].append((None if txn is None else int(txn), int(name[-10:]), call))
    problems = []
    for parent, made_under in created.items():
        suffixes = [s for _, s, _ in made_under]
        if len(set(suffixes)) != len(suffixes):
            twice = sorted({s for s in suffixes if suffixes.count(s) > 1})
            problems.append(f"sequential suffixes under {parent} given twice: {twice}")
        known = [(z, s) for z, s, _ in made_under if z is not None]
        ordered = [s for _, s in sorted(known)]
        if ordered != sorted(ordered):
            problems.append(f"sequential suffixes under {parent} do not increase with the transaction: {ordered}")
    return problems


def ephemerals_gone(history: History) -> list[str]:
    """No read after a session ended shows its ephemeral node, and none is left at the end."""
    ended = {e.session: e.time for e in history.ends}
    problems = []
    for call in history.calls:
        if call.op not in ("get", "exists") or not call.ok or not isinstance(call.result, dict):
            continue
        owner = call.result.get("owner")
        end = ended.get(owner) if owner else None
        if end is not None and call.invoke > end:
            problems.append(f"{_name(call)} read the ephemeral node of {owner} after that session ended")
    for path, node in (history.final or {}).items():
        if node.get("owner") in ended:
            problems.append(f"{path}, an ephemeral node of ended session {node['owner']}, is still there")
    return problems
