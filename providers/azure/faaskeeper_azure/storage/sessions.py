"""System storage's sessions (partition ``sessions``) and watches (partition ``watches``).

A session item holds the :class:`~faaskeeper.api.storage.SessionRecord`'s fields, with
``last_outcome`` as JSON (or None); its id is :func:`item_id` of the session id. A watch item, one
per (path, kind, session), holds the :class:`~faaskeeper.api.storage.WatchRecord`'s fields; its
id is the three joined and encoded. Neither is written in a batch with nodes, so each kind has a
logical partition of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields, replace
from typing import Any

from faaskeeper.api.storage import SessionRecord, SessionStatus, WatchKind, WatchRecord
from faaskeeper_azure.storage.cosmos import MAX_BATCH, Container, Document, Refusal, cycles, exhausted, item_id

#: The partition keys of sessions and of watches.
SESSIONS = "sessions"
WATCHES = "watches"
_RECORD_FIELDS = frozenset(f.name for f in fields(SessionRecord))


def session_document(session: SessionRecord) -> Document:
    document: Document = asdict(session)
    document["last_outcome"] = json.dumps(session.last_outcome) if session.last_outcome is not None else None
    return {**document, "id": item_id(session.session_id), "pk": SESSIONS}


def session_from_document(document: Document) -> SessionRecord:
    values = {k: v for k, v in document.items() if k in _RECORD_FIELDS}
    outcome = values.get("last_outcome")
    values["last_outcome"] = json.loads(outcome) if outcome else None
    return SessionRecord(**values)


def watch_id(path: str, kind: WatchKind, session_id: str) -> str:
    return item_id(f"{kind.value}|{session_id}|{path}")


def watch_document(watch: WatchRecord) -> Document:
    return {
        "id": watch_id(watch.path, watch.kind, watch.session_id),
        "pk": WATCHES,
        "path": watch.path,
        "kind": watch.kind.value,
        "session_id": watch.session_id,
        "counter": watch.counter,
        "address": watch.address,
    }


def watch_from_document(document: Document) -> WatchRecord:
    return WatchRecord(
        path=str(document["path"]),
        kind=WatchKind(document["kind"]),
        session_id=str(document["session_id"]),
        counter=int(document["counter"]),
        address=str(document.get("address", "")),
    )


class SessionItems:
    def __init__(self, container: Container) -> None:
        self._items = container

    def create_session(self, session: SessionRecord) -> bool:
        return self._items.create(session_document(session), "create session") is not None

    def read_session(self, session_id: str) -> SessionRecord | None:
        found = self._items.read(SESSIONS, item_id(session_id), "read session")
        return session_from_document(found) if found is not None else None

    def record_outcome(self, session_id: str, seq: int, outcome: dict[str, Any]) -> bool:
        for _ in cycles():
            found = self._items.read(SESSIONS, item_id(session_id), "record outcome")
            if found is None or int(found["last_seq"]) >= seq:
                return False
            after = replace(session_from_document(found), last_seq=seq, last_outcome=outcome)
            if self._items.replace(session_document(after), found["_etag"], "record outcome") is not None:
                return True
        raise exhausted("record outcome")

    def end_session(self, session_id: str, ended_at: float) -> SessionRecord | None:
        ended = {"status": SessionStatus.ENDING.value, "ended_at": ended_at}
        return self._change(session_id, lambda record: ended if record.active else None, "end session")

    def drain_session(self, session_id: str) -> None:
        drained = {"status": SessionStatus.DRAINED.value}
        self._change(
            session_id, lambda record: drained if record.status == SessionStatus.ENDING else None, "drain session"
        )

    def touch_session(self, session_id: str, silent_since: float) -> None:
        self._change(session_id, lambda _record: {"silent_since": silent_since}, "touch session")

    def _change(
        self, session_id: str, change: Callable[[SessionRecord], dict[str, Any] | None], action: str
    ) -> SessionRecord | None:
        """Set the fields ``change`` names (None: none) of a session, conditional on the item as
        read; the record as it is after, or None if there is none."""
        for _ in cycles():
            found = self._items.read(SESSIONS, item_id(session_id), action)
            if found is None:
                return None
            record = session_from_document(found)
            changes = change(record)
            if not changes:
                return record
            after = replace(record, **changes)
            if self._items.replace(session_document(after), found["_etag"], action) is not None:
                return after
        raise exhausted(action)

    def delete_session(self, session_id: str) -> None:
        self._items.delete(SESSIONS, item_id(session_id), "delete session")

    def list_sessions(self) -> list[SessionRecord]:
        return [session_from_document(d) for d in self._items.query(SESSIONS, "", "list sessions")]

    # -- watches --------------------------------------------------------------------------

    def add_watch(self, watch: WatchRecord) -> None:
        document = watch_document(watch)
        for _ in cycles():
            found = self._items.read(WATCHES, document["id"], "add watch")
            if found is None:
                if self._items.create(document, "add watch") is not None:
                    return
                continue
            counter = max(int(found["counter"]), watch.counter)
            if self._items.replace({**document, "counter": counter}, found["_etag"], "add watch") is not None:
                return
        raise exhausted("add watch")

    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        found = self._items.query(WATCHES, "c.path = @path", "find watches", path=path)
        watches = [watch_from_document(d) for d in found]
        return [w for w in watches if w.kind in kinds and w.counter < txn]

    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        for watch in watches:
            found = self._items.read(WATCHES, watch_id(watch.path, watch.kind, watch.session_id), "remove watches")
            if found is None or int(found["counter"]) != watch.counter:
                continue  # set again since: kept for the next change
            # Conditional on the item read: a watch set again meanwhile stays.
            self._items.delete(WATCHES, found["id"], "remove watches", found["_etag"])

    def remove_session_watches(self, session_id: str) -> None:
        found = self._items.query(WATCHES, "c.session_id = @session", "remove session watches", session=session_id)
        for start in range(0, len(found), MAX_BATCH):
            deletes = [("delete", (d["id"],)) for d in found[start : start + MAX_BATCH]]
            if isinstance(self._items.batch(WATCHES, deletes, "remove session watches"), Refusal):
                # One was deleted meanwhile (its watch fired): delete the others one by one.
                for document in found[start : start + MAX_BATCH]:
                    self._items.delete(WATCHES, document["id"], "remove session watches")

    def count_watches(self) -> int:
        return self._items.count(WATCHES, "", "count watches")
