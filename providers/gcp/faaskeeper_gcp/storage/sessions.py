"""System storage's sessions (``sessions/<session id>``) and watches (``watches/<id>``).

A session document holds the :class:`~faaskeeper.api.storage.SessionRecord`'s fields, with
``last_outcome`` as JSON (or None). A watch document, one per (path, kind, session), holds the
:class:`~faaskeeper.api.storage.WatchRecord`'s fields; its id is the three joined and encoded.

A session whose client listens on a Pub/Sub inbox leaves, when it ends, ``ended/<session id>``
with the inbox's address and the time, until the heartbeat has deleted the inbox
(:func:`faaskeeper_gcp.channel.inboxes.reap_ended_inboxes`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.document import DocumentReference

from faaskeeper.api.storage import SessionRecord, SessionStatus, WatchKind, WatchRecord
from faaskeeper_gcp.channel.inboxes import is_inbox_address
from faaskeeper_gcp.storage.firestore import Documents, Snapshot, cycles, document_id, exhausted


def session_fields(session: SessionRecord) -> dict[str, Any]:
    fields = asdict(session)
    fields["last_outcome"] = json.dumps(session.last_outcome) if session.last_outcome is not None else None
    return fields


def session_from_snapshot(snapshot: Snapshot) -> SessionRecord:
    fields = dict(snapshot.to_dict() or {})
    outcome = fields.get("last_outcome")
    fields["last_outcome"] = json.loads(outcome) if outcome else None
    return SessionRecord(**fields)


def watch_from_snapshot(snapshot: Snapshot) -> WatchRecord:
    data = snapshot.to_dict() or {}
    return WatchRecord(
        path=str(data["path"]),
        kind=WatchKind(data["kind"]),
        session_id=str(data["session_id"]),
        counter=int(data["counter"]),
        address=str(data.get("address", "")),
    )


@dataclass(frozen=True)
class EndedSession:
    """A session that ended while its client's inbox may still exist."""

    session_id: str
    channel: str
    ended: float


class SessionDocuments:
    def __init__(self, documents: Documents) -> None:
        self._docs = documents
        self._sessions = documents.collection("sessions")
        self._ended = documents.collection("ended")
        self._watches = documents.collection("watches")

    def session_ref(self, session_id: str) -> DocumentReference:
        return self._sessions.document(document_id(session_id))

    def create_session(self, session: SessionRecord) -> bool:
        return self._docs.create(self.session_ref(session.session_id), session_fields(session), "create session")

    def read_session(self, session_id: str) -> SessionRecord | None:
        snapshot = self._docs.get(self.session_ref(session_id), "read session")
        return session_from_snapshot(snapshot) if snapshot.exists else None

    def record_outcome(self, session_id: str, seq: int, outcome: dict[str, Any]) -> bool:
        ref = self.session_ref(session_id)
        for _ in cycles():
            snapshot = self._docs.get(ref, "record outcome")
            if not snapshot.exists or int(snapshot.get("last_seq")) >= seq:
                return False
            if self._docs.update(
                ref, {"last_seq": seq, "last_outcome": json.dumps(outcome)}, snapshot, "record outcome"
            ):
                return True
        raise exhausted("record outcome")

    def end_session(self, session_id: str, ended_at: float) -> SessionRecord | None:
        ended = {"status": SessionStatus.ENDING.value, "ended_at": ended_at}
        after = self._change(session_id, lambda record: ended if record.active else None, "end session")
        if after is not None and not after.active and is_inbox_address(after.channel):
            # Once (a redelivered end finds it there): the inbox goes a session timeout after the
            # end (channel.inboxes.reap_ended_inboxes).
            fields = {"session_id": session_id, "channel": after.channel, "ended": time.time()}
            self._docs.create(self._ended.document(document_id(session_id)), fields, "record an ended session")
        return after

    def drain_session(self, session_id: str) -> None:
        drained = {"status": SessionStatus.DRAINED.value}
        self._change(
            session_id, lambda record: drained if record.status == SessionStatus.ENDING else None, "drain session"
        )

    def _change(
        self, session_id: str, change: Callable[[SessionRecord], dict[str, Any] | None], action: str
    ) -> SessionRecord | None:
        """Update the fields ``change`` names (None: none) of a session, conditional on the
        document as read; the record as it is after, or None if there is none."""
        ref = self.session_ref(session_id)
        for _ in cycles():
            snapshot = self._docs.get(ref, action)
            if not snapshot.exists:
                return None
            record = session_from_snapshot(snapshot)
            fields = change(record)
            if not fields:
                return record
            if self._docs.update(ref, fields, snapshot, action):
                return replace(record, **fields)
        raise exhausted(action)

    def delete_session(self, session_id: str) -> None:
        self._docs.delete(self.session_ref(session_id), "delete session")

    def ended_sessions(self, before: float) -> list[EndedSession]:
        """Ended sessions with an inbox, which ended before the time ``before``."""
        found = self._docs.query(self._ended.where(filter=FieldFilter("ended", "<", before)), "find ended sessions")
        return [EndedSession(str(s.get("session_id")), str(s.get("channel")), float(s.get("ended"))) for s in found]

    def forget_ended_session(self, session_id: str) -> None:
        self._docs.delete(self._ended.document(document_id(session_id)), "forget ended session")

    def list_sessions(self) -> list[SessionRecord]:
        return [session_from_snapshot(s) for s in self._docs.query(self._sessions, "list sessions")]

    def touch_session(self, session_id: str, silent_since: float) -> None:
        ref = self.session_ref(session_id)
        for _ in cycles():
            snapshot = self._docs.get(ref, "touch session")
            if not snapshot.exists or self._docs.update(ref, {"silent_since": silent_since}, snapshot, "touch session"):
                return
        raise exhausted("touch session")

    # -- watches --------------------------------------------------------------------------

    def watch_ref(self, path: str, kind: WatchKind, session_id: str) -> DocumentReference:
        return self._watches.document(document_id(f"{kind.value}|{session_id}|{path}"))

    def add_watch(self, watch: WatchRecord) -> None:
        ref = self.watch_ref(watch.path, watch.kind, watch.session_id)
        fields = {
            "path": watch.path,
            "kind": watch.kind.value,
            "session_id": watch.session_id,
            "counter": watch.counter,
            "address": watch.address,
        }
        for _ in cycles():
            snapshot = self._docs.get(ref, "add watch")
            if not snapshot.exists:
                if self._docs.create(ref, fields, "add watch"):
                    return
                continue
            counter = max(int(snapshot.get("counter")), watch.counter)
            if self._docs.update(ref, {**fields, "counter": counter}, snapshot, "add watch"):
                return
        raise exhausted("add watch")

    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        found = self._docs.query(self._watches.where(filter=FieldFilter("path", "==", path)), "find watches")
        watches = [watch_from_snapshot(s) for s in found]
        return [w for w in watches if w.kind in kinds and w.counter < txn]

    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        refs = [self.watch_ref(w.path, w.kind, w.session_id) for w in watches]
        for watch, ref, snapshot in zip(watches, refs, self._docs.get_all(refs, "remove watches"), strict=True):
            if not snapshot.exists or int(snapshot.get("counter")) != watch.counter:
                continue  # set again since: kept for the next change
            # Conditional on the snapshot: a watch set again meanwhile stays.
            self._docs.delete(ref, "remove watches", snapshot)

    def remove_session_watches(self, session_id: str) -> None:
        found = self._docs.query(
            self._watches.where(filter=FieldFilter("session_id", "==", session_id)), "remove session watches"
        )
        for start in range(0, len(found), 400):
            batch = self._docs.batch()
            for snapshot in found[start : start + 400]:
                batch.delete(snapshot.reference)
            batch.commit("remove session watches")

    def count_watches(self) -> int:
        return self._docs.count(self._watches, "count watches")
