"""System storage in Firestore: node documents with locks and pending transactions, sessions, watches.

The documents are described in :mod:`~faaskeeper_gcp.storage.nodes` and
:mod:`~faaskeeper_gcp.storage.sessions`. Every change is a read followed by a write conditional
on the read document's update time, so nothing is written on a view that is out of date.

A commit is ONE atomic batch over every node of the write (``state``, ``exists``, ``owner``,
``pending + [txn]``, lock cleared), each conditional on the snapshot that showed it locked with the
commit's token, plus, with a request sequence number, the session's ``last_seq`` (advanced if
behind, ``last_outcome`` cleared), conditional on its snapshot. A failed condition re-reads.

Items (the core's sequenced log, :mod:`faaskeeper.protocol.sequencer`) are documents below the
``queues`` collection, an item's key their path there; a version is a document's update time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from google.cloud.firestore_v1.document import DocumentReference

from faaskeeper.api.storage import (
    Claim,
    Commit,
    CreateItem,
    Item,
    ItemKey,
    ItemWrite,
    Lock,
    SessionRecord,
    SystemNode,
    SystemStorage,
    UpdateItem,
    WatchKind,
    WatchRecord,
)
from faaskeeper_gcp.settings import GcpSettings
from faaskeeper_gcp.storage.firestore import Documents, cycles, exhausted
from faaskeeper_gcp.storage.nodes import NodeDocuments
from faaskeeper_gcp.storage.sessions import EndedSession, SessionDocuments

#: The collection below which items are kept.
ITEMS = "queues"


class FirestoreSystemStorage(SystemStorage):
    def __init__(self, settings: GcpSettings, documents: Documents | None = None) -> None:
        self.documents = documents or Documents(settings)
        self._nodes = NodeDocuments(self.documents)
        self._sessions = SessionDocuments(self.documents)

    def ensure_root(self) -> None:
        self._nodes.ensure_root()

    # -- nodes ----------------------------------------------------------------------------

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        return self._nodes.lock_node(path, lock, max_hold)

    def unlock_node(self, path: str, lock: Lock) -> None:
        self._nodes.unlock_node(path, lock)

    def commit(self, commit: Commit) -> bool:
        for _ in cycles():
            batch = self.documents.batch()
            staged = self._nodes.stage_commit(commit, batch)
            if staged is not None:
                return staged
            if batch.commit("commit"):
                return True
        raise exhausted("commit")

    def read_node(self, path: str) -> SystemNode | None:
        return self._nodes.read_node(path)

    def claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        return self._nodes.claim_transaction(paths, txn)

    def ephemeral_nodes(self, session_id: str) -> list[str]:
        return self._nodes.ephemeral_nodes(session_id)

    def count_nodes(self) -> int:
        return self._nodes.count_nodes()

    # -- sessions -------------------------------------------------------------------------

    def create_session(self, session: SessionRecord) -> bool:
        return self._sessions.create_session(session)

    def read_session(self, session_id: str) -> SessionRecord | None:
        return self._sessions.read_session(session_id)

    def record_outcome(self, session_id: str, seq: int, outcome: dict[str, Any]) -> bool:
        return self._sessions.record_outcome(session_id, seq, outcome)

    def end_session(self, session_id: str, ended_at: float) -> SessionRecord | None:
        return self._sessions.end_session(session_id, ended_at)

    def drain_session(self, session_id: str) -> None:
        self._sessions.drain_session(session_id)

    def delete_session(self, session_id: str) -> None:
        self._sessions.delete_session(session_id)

    def list_sessions(self) -> list[SessionRecord]:
        return self._sessions.list_sessions()

    def touch_session(self, session_id: str, silent_since: float) -> None:
        self._sessions.touch_session(session_id, silent_since)

    def ended_sessions(self, before: float) -> list[EndedSession]:
        """Sessions ended before the time ``before`` whose client inboxes may still exist."""
        return self._sessions.ended_sessions(before)

    def forget_ended_session(self, session_id: str) -> None:
        self._sessions.forget_ended_session(session_id)

    # -- watches --------------------------------------------------------------------------

    def add_watch(self, watch: WatchRecord) -> None:
        self._sessions.add_watch(watch)

    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        return self._sessions.triggered_watches(path, kinds, txn)

    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        self._sessions.remove_watches(watches)

    def remove_session_watches(self, session_id: str) -> None:
        self._sessions.remove_session_watches(session_id)

    def count_watches(self) -> int:
        return self._sessions.count_watches()

    # -- items ----------------------------------------------------------------------------

    def _item(self, key: ItemKey) -> DocumentReference:
        ref: DocumentReference = self.documents.collection(ITEMS).document(key[0])
        for collection, name in zip(key[1::2], key[2::2], strict=True):
            ref = ref.collection(collection).document(name)
        return ref

    def read_items(self, keys: Sequence[ItemKey]) -> list[Item | None]:
        snapshots = self.documents.get_all([self._item(key) for key in keys], "read the distributor log")
        return [
            Item(key, dict(snapshot.to_dict() or {}), snapshot.update_time) if snapshot.exists else None
            for key, snapshot in zip(keys, snapshots, strict=True)
        ]

    def write_items(self, writes: Sequence[ItemWrite]) -> list[object] | None:
        batch = self.documents.batch()
        for write in writes:
            ref = self._item(write.key)
            if isinstance(write, CreateItem):
                batch.create(ref, dict(write.value))
            elif isinstance(write, UpdateItem):
                if not isinstance(write.since, datetime):
                    raise TypeError(f"a Firestore item's version is its update time, not {write.since!r}")
                batch.update(ref, dict(write.value), write.since)
            else:
                batch.delete(ref)
        if not batch.commit("write the distributor log"):
            return None
        return list(batch.update_times)
