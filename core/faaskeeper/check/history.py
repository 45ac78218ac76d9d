"""A history: every client call with its invocation and response, the watch notifications each
session received, when sessions ended, and the nodes left at the end.

Times are ``time.monotonic()`` seconds, one clock for every process of a machine. A call without
a response (``complete is None``: its process died or it timed out) may or may not have taken
effect, at any time after its invocation. Histories are JSON lines, one record per line.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

WRITES = frozenset({"create", "set", "delete", "multi"})
READS = frozenset({"get", "exists", "children"})


@dataclass
class Call:
    """One client call. ``index`` orders the session's calls as issued; ``completed`` is the
    position of its response among the session's responses."""

    session: str
    index: int
    op: str
    path: str
    invoke: float
    complete: float | None = None
    completed: int | None = None
    data: str | None = None  # hex
    version: int = -1
    ephemeral: bool = False
    sequential: bool = False
    watch: bool = False
    ok: bool | None = None
    error: str | None = None
    #: create: path, czxid; set: version, mzxid; get/exists: the node (data hex, version, czxid,
    #: mzxid, owner) or None; children: names; multi: its transaction id (None when no op returned
    #: it), each set's new version and each create's path ({"txn", "versions", "paths"}), or on
    #: failure the index of the op that failed ({"failed"}).
    result: Any = None
    #: multi: its operations, each {"op": "set" | "check" | "create" | "delete", "path", "data",
    #: "version", "ephemeral", "sequential"}; ``path`` is the first one's.
    ops: list[dict[str, Any]] | None = None

    def parts(self) -> list[Call]:
        """A multi's operations as calls of their own (sharing its times and outcome, with
        ``ok`` None: only the multi's outcome says what they did)."""
        return [
            Call(
                self.session,
                self.index,
                str(op["op"]),
                str(op["path"]),
                self.invoke,
                self.complete,
                data=op.get("data"),
                version=int(op.get("version", -1)),
                ephemeral=bool(op.get("ephemeral", False)),
                sequential=bool(op.get("sequential", False)),
            )
            for op in self.ops or []
        ]

    @property
    def known(self) -> bool:
        """The call was answered: its outcome is known."""
        return self.complete is not None and self.ok is not None

    @property
    def key(self) -> tuple[str, int]:
        return (self.session, self.index)


@dataclass
class WatchNotice:
    """A watch notification as its session's callback received it."""

    session: str
    path: str
    event: str
    txn: int
    time: float


@dataclass
class SessionEnd:
    """A session ended: ``how`` is "closed" by its client (between ``since``, when the close
    began, and ``time``, when it returned), "expired" while its client ran (``time`` is when the
    client learnt it; the end came after the last write the service took), or "lost" with its
    process (``time`` is None: it expires some time after its last call)."""

    session: str
    how: str
    time: float | None = None
    since: float | None = None


@dataclass
class History:
    calls: list[Call] = field(default_factory=list)
    notices: list[WatchNotice] = field(default_factory=list)
    ends: list[SessionEnd] = field(default_factory=list)
    #: The nodes at the end, after every session ended: path -> {"data", "version", "owner"}.
    final: dict[str, dict[str, Any]] | None = None
    #: Faults injected into the functions while the history was recorded.
    faults: int = 0

    def extend(self, other: History) -> None:
        self.faults += other.faults
        self.calls.extend(other.calls)
        self.notices.extend(other.notices)
        self.ends.extend(other.ends)
        if other.final is not None:
            self.final = other.final

    def sessions(self) -> dict[str, list[Call]]:
        """Each session's calls in issue order."""
        found: dict[str, list[Call]] = {}
        for call in sorted(self.calls, key=lambda c: c.key):
            found.setdefault(call.session, []).append(call)
        return found

    def to_lines(self) -> Iterator[str]:
        for call in self.calls:
            yield json.dumps({"type": "call", **asdict(call)})
        for notice in self.notices:
            yield json.dumps({"type": "notice", **asdict(notice)})
        for end in self.ends:
            yield json.dumps({"type": "end", **asdict(end)})
        if self.final is not None:
            yield json.dumps({"type": "final", "nodes": self.final})
        if self.faults:
            yield json.dumps({"type": "faults", "count": self.faults})

    def save(self, path: Path) -> None:
        path.write_text("".join(line + "\n" for line in self.to_lines()))

    @staticmethod
    def from_lines(lines: Iterable[str]) -> History:
        """Parse JSON lines; a line cut short by a process killed mid-write is skipped. A call
        recorded twice (at its invocation, then with its response) keeps its last record."""
        history = History()
        calls: dict[tuple[str, int], Call] = {}
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            kind = record.pop("type")
            if kind == "call":
                call = Call(**record)
                calls[call.key] = call
            elif kind == "notice":
                history.notices.append(WatchNotice(**record))
            elif kind == "end":
                history.ends.append(SessionEnd(**record))
            elif kind == "final":
                history.final = record["nodes"]
            elif kind == "faults":
                history.faults += int(record["count"])
            else:
                raise ValueError(f"unknown history record type {kind!r}")
        history.calls = list(calls.values())
        return history

    @staticmethod
    def load(path: Path) -> History:
        return History.from_lines(path.read_text().splitlines())
