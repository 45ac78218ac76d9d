"""The history checker: ZooKeeper's guarantees, each a function over a recorded history.

``check(history)`` returns a :class:`Report` listing every violation with the property it breaks:

* ``linearizable``: per node, the writes (and the failures they met) fit one order that respects
  real time (:mod:`faaskeeper.check.linearizability`); successful writes' transaction ids are unique
  and respect real time across all nodes;
* ``fifo``: a session's calls complete, and its writes take effect, in the order it issued them;
* ``monotonic``: a session never reads a node older than one it has seen or written;
* ``reads``: every node read is one some write produced (no invented data);
* ``watch-before-data``: a session holding a watch is told of a change before it reads the change;
  every notification it gets answers a watch it set;
* ``sequential``: sequential suffixes under a parent are unique and increase with the transaction;
* ``ephemeral``: no one reads a session's ephemeral node after the session ended, and none is left;
* ``atomic``: once a transaction returned, or a read of a session showed it on one node, every
  read (of that session) of a node it created or set shows it.

Reads are not part of the linearizability search: ZooKeeper promises linearizable writes and, for
reads, a single system image per session (``monotonic``, ``reads``); ``linearizable_reads=True``
checks reads in the search too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from faaskeeper.check import sessions, transactions
from faaskeeper.check.history import READS, WRITES, Call, History, SessionEnd
from faaskeeper.check.linearizability import Timed, linearize
from faaskeeper.check.model import DECIDED_ERRORS, EndOfSession, NodeOp, Nodes, counter_key, step, step_nodes


@dataclass(frozen=True)
class Violation:
    property: str
    message: str


@dataclass
class Report:
    operations: int = 0
    sessions: int = 0
    nodes: int = 0
    explored: int = 0
    violations: list[Violation] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def add(self, prop: str, messages: list[str]) -> None:
        self.violations.extend(Violation(prop, m) for m in messages)

    def by_property(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for violation in self.violations:
            counts[violation.property] += 1
        return dict(counts)


def check(history: History, *, linearizable_reads: bool = False, budget: int = 2_000_000) -> Report:
    report = Report(operations=len(history.calls), sessions=len(history.sessions()))
    _check_linearizable(history, report, linearizable_reads, budget)
    report.add("linearizable", transaction_order(history.calls))
    report.add("fifo", sessions.fifo(history))
    report.add("monotonic", sessions.monotonic(history))
    report.add("reads", sessions.reads_were_written(history))
    report.add("watch-before-data", sessions.watch_before_data(history))
    report.add("sequential", sessions.sequential_suffixes(history))
    report.add("ephemeral", sessions.ephemerals_gone(history))
    report.add("atomic", transactions.seen_whole(history))
    return report


def _counted(calls: list[Call]) -> set[str]:
    """The counter keys of the parents under which transactions create sequential nodes."""
    return {
        counter_key(p.path) for c in calls if c.op == "multi" for p in c.parts() if p.op == "create" and p.sequential
    }


def _keys(call: Call, counted: set[str]) -> list[str]:
    """What a call's outcome is about: its nodes and the counters of the parents whose children it
    creates or deletes (a sequential create's own node is named by the service: where its parent's
    counter is tracked, by the result)."""
    if call.op == "children":
        return []
    parts = call.parts() if call.op == "multi" else [call]
    made = call.result.get("paths") if call.ok and isinstance(call.result, dict) else None
    if call.op == "create" and call.ok and isinstance(call.result, dict):
        made = [call.result.get("path")]
    keys: list[str] = []
    for index, part in enumerate(parts):
        counter = counter_key(part.path) if part.op in ("create", "delete") else None
        if part.op == "create" and part.sequential:
            if counter not in counted:
                continue
            if made and index < len(made) and isinstance(made[index], str):
                keys.append(str(made[index]))
        else:
            keys.append(part.path)
        if counter in counted:
            keys.append(str(counter))
    return keys


def _components(calls: list[Call], counted: set[str]) -> dict[str, str]:
    """Each key's representative among the keys transactions tie together (union-find)."""
    parent: dict[str, str] = {}

    def find(path: str) -> str:
        parent.setdefault(path, path)
        while parent[path] != path:
            parent[path] = parent[parent[path]]
            path = parent[path]
        return path

    for call in calls:
        keys = _keys(call, counted)
        if call.op == "multi" or len(keys) > 1:
            for path in keys[1:]:
                parent[find(path)] = find(keys[0])
            if keys:
                find(keys[0])
    return {path: find(path) for path in parent}


def _creates_ephemeral(call: Call) -> bool:
    return call.ephemeral or any(p.ephemeral for p in call.parts())


def _check_linearizable(history: History, report: Report, with_reads: bool, budget: int) -> None:
    by_node: dict[str, list[Timed[NodeOp]]] = defaultdict(list)
    counted = _counted(history.calls)
    tied = _components(history.calls, counted)
    for call in history.calls:
        keys = _keys(call, counted)
        if not keys or (call.op in READS and not (with_reads and call.known)):
            continue
        by_node[tied.get(keys[0], keys[0])].append(Timed(call, call.invoke, call.complete if call.known else None))
    report.nodes = len(by_node)
    members: dict[str, list[str]] = defaultdict(list)
    for path, root in tied.items():
        members[root].append(path)
    last_call: dict[str, float] = defaultdict(float)
    last_taken: dict[str, float] = defaultdict(float)
    for call in history.calls:
        last_call[call.session] = max(last_call[call.session], call.complete or call.invoke)
        if call.op in WRITES and call.known and (call.ok or call.error in DECIDED_ERRORS):
            last_taken[call.session] = max(last_taken[call.session], call.invoke)
    for path, ops in sorted(by_node.items()):
        if any(isinstance(t.op, Call) and _creates_ephemeral(t.op) for t in ops):
            for end in history.ends:
                ops.append(Timed(EndOfSession(end.session), _ended_after(end, last_call, last_taken), end.time))
        if path in members:
            # Nodes a transaction ties together are searched as one state, so it is atomic.
            initial: Nodes = tuple((node, None) for node in sorted(members[path]))
            outcome = linearize(ops, initial, step_nodes, budget)
            path = ", ".join(sorted(members[path]))
        else:
            outcome = linearize(ops, None, step, budget)
        report.explored += outcome.explored
        if not outcome.conclusive:
            report.inconclusive.append(f"{path}: no answer within {budget} states ({len(ops)} operations)")
        elif not outcome.linearizable:
            stuck = "; ".join(describe(op) for op in outcome.stuck) or "none"
            report.add(
                "linearizable",
                [
                    f"{path}: {len(ops)} operations fit no order; after the longest valid prefix of "
                    f"{len(outcome.longest)} ({describe_tail(outcome.longest)}), none of these can come next: {stuck}"
                ],
            )


def _ended_after(end: SessionEnd, last_call: dict[str, float], last_taken: dict[str, float]) -> float:
    """The earliest a session's end can have taken effect."""
    if end.how == "closed" and end.since is not None:
        return end.since  # the close is sent once stop() began
    if end.how == "expired":
        # After every write the service took as the session's; calls may have gone on, refused.
        return last_taken[end.session]
    return last_call[end.session]  # a lost session expires some time after its last call


def describe(op: NodeOp) -> str:
    if isinstance(op, EndOfSession):
        return f"end of session {op.session}"
    args = op.path + (f" data={op.data}" if op.data else "")
    if op.op == "multi":
        args = (
            "["
            + ", ".join(f"{p['op']} {p['path']}" + (" seq" if p.get("sequential") else "") for p in op.ops or [])
            + "]"
        )
    args += f" version={op.version}" if op.version != -1 else ""
    outcome = "no response" if not op.known else ("ok" if op.ok else op.error)
    result = f" -> {op.result}" if op.ok and op.result is not None else ""
    return f"{op.session}#{op.index} {op.op} {args}: {outcome}{result}"


def describe_tail(ops: tuple[NodeOp, ...], keep: int = 3) -> str:
    shown = [describe(op) for op in ops[-keep:]]
    return ("..., " if len(ops) > keep else "") + "; ".join(shown) if shown else "nothing"


def zxid_of(call: Call) -> int | None:
    """The transaction id a successful write returned (a delete returns none)."""
    if not call.ok or not isinstance(call.result, dict):
        return None
    if call.op == "create":
        return int(call.result["czxid"])
    if call.op == "set":
        return int(call.result["mzxid"])
    if call.op == "multi" and call.result.get("txn") is not None:
        return int(call.result["txn"])
    return None


def transaction_order(calls: list[Call]) -> list[str]:
    """Successful writes' transaction ids are unique, and a write that returned before another was
    invoked has the smaller one."""
    writes = sorted(
        ((z, c) for c in calls if (z := zxid_of(c)) is not None and c.complete is not None), key=lambda w: w[0]
    )
    problems = []
    seen: dict[int, Call] = {}
    for zxid, call in writes:
        if zxid in seen:
            problems.append(f"transaction {zxid} returned by two writes: {describe(seen[zxid])} and {describe(call)}")
        seen[zxid] = call
    earliest_after = math.inf
    earliest_call: Call | None = None
    for zxid, call in reversed(writes):
        if earliest_call is not None and earliest_after < call.invoke:
            problems.append(
                f"{describe(earliest_call)} returned before {describe(call)} was invoked, "
                f"yet has the later transaction ({zxid_of(earliest_call)} > {zxid})"
            )
        assert call.complete is not None
        if call.complete < earliest_after:
            earliest_after, earliest_call = call.complete, call
    return problems
