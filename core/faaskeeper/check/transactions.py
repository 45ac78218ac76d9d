"""The checker's properties of transactions beyond the linearizability search: each returns a
message per violation (see :mod:`faaskeeper.check.checker`)."""

from __future__ import annotations

from collections import defaultdict

from faaskeeper.check.history import Call, History


def _name(call: Call) -> str:
    return f"{call.session}#{call.index} {call.op} {call.path}"


def left_by(multi: Call) -> set[str]:
    """The nodes a committed multi created or set and did not delete after; sequential ones by
    the names its result gave."""
    made = multi.result.get("paths") or [] if isinstance(multi.result, dict) else []
    left: set[str] = set()
    for index, part in enumerate(multi.parts()):
        path = part.path
        if part.op == "create" and part.sequential:
            name = made[index] if index < len(made) else None
            if not isinstance(name, str):
                continue
            path = name
        if part.op in ("create", "set"):
            left.add(path)
        elif part.op == "delete":
            left.discard(path)
    return left


def _seen_by_sessions(history: History, reads: dict[str, list[Call]]) -> dict[int, dict[str, tuple[float, Call]]]:
    """For each committed multi whose id is known, per session the first read (by completion,
    with its completion) that showed it on one of the nodes it created or set."""
    left = {
        int(call.result["txn"]): left_by(call)
        for call in history.calls
        if call.op == "multi" and call.ok and isinstance(call.result, dict) and call.result.get("txn") is not None
    }
    seen: dict[int, dict[str, tuple[float, Call]]] = defaultdict(dict)
    for path, calls in reads.items():
        for read in calls:
            if read.complete is None or not read.ok or not isinstance(read.result, dict):
                continue
            for key in ("czxid", "mzxid"):
                txn = read.result.get(key)
                if txn is None or int(txn) not in left or path not in left[int(txn)]:
                    continue
                first = seen[int(txn)].get(read.session)
                if first is None or read.complete < first[0]:
                    seen[int(txn)][read.session] = (read.complete, read)
    return seen


def _absent(read: Call) -> bool | None:
    """Whether a read found no node (None: it says nothing)."""
    if read.op == "exists" and read.ok:
        return read.result is None
    if read.op == "get":
        return True if read.error == "NoNode" else False if read.ok else None
    return None


def seen_whole(history: History) -> list[str]:
    """Once a transaction's reply arrived, every read of a node it created or set shows it or a
    later state: no one reads such a node missing (unless a delete of it may have come after),
    nor older than the transaction's id. So does every read of a session after one of its reads
    showed the transaction on another of those nodes (ZooKeeper applies a write whole)."""
    reads: dict[str, list[Call]] = defaultdict(list)
    deleters: dict[str, list[Call]] = defaultdict(list)
    #: The sessions that created each node ephemeral (its end deletes it), by name or by result.
    owners: dict[str, set[str]] = defaultdict(set)
    for call in history.calls:
        made = call.result.get("paths") or [] if call.op == "multi" and isinstance(call.result, dict) else []
        for index, part in enumerate(call.parts() if call.op == "multi" else [call]):
            if part.op == "create" and part.ephemeral:
                owners[part.path].add(call.session)
                if index < len(made) and isinstance(made[index], str):
                    owners[made[index]].add(call.session)
        if call.op in ("get", "exists") and call.known:
            reads[call.path].append(call)
        elif call.op == "delete" and call.ok is not False:
            deleters[call.path].append(call)
        elif call.op == "multi" and call.ok is not False:
            for part in call.parts():
                if part.op == "delete":
                    deleters[part.path].append(call)
    ended = {end.session for end in history.ends}
    seen = _seen_by_sessions(history, reads)
    problems = []
    for multi in history.calls:
        if multi.op != "multi" or not multi.known or not multi.ok:
            continue
        txn = multi.result.get("txn") if isinstance(multi.result, dict) else None
        seen_at = seen.get(int(txn), {}) if txn is not None else {}
        for path in left_by(multi):
            for read in reads[path]:
                after_reply = multi.complete is not None and read.invoke > multi.complete
                saw = seen_at.get(read.session)
                after_seeing = saw is not None and read.invoke > saw[0]
                if read.complete is None or not (after_reply or after_seeing):
                    continue
                since = "returned" if after_reply or saw is None else f"showed in {_name(saw[1])}"
                absent = _absent(read)
                if absent:
                    if owners[path] & ended:
                        continue
                    if any(
                        d.invoke < read.complete and (d.complete is None or d.complete > multi.invoke)
                        for d in deleters[path]
                    ):
                        continue
                    problems.append(f"{_name(read)} found no node, after {_name(multi)} (which made it) {since}")
                elif absent is False and txn is not None and isinstance(read.result, dict):
                    if int(read.result["mzxid"]) < int(txn):
                        problems.append(
                            f"{_name(read)} read transaction {read.result['mzxid']}, older than {_name(multi)} "
                            f"({txn}), which wrote it and had {since}"
                        )
    return problems
