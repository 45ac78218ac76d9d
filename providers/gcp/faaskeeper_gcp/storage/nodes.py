"""System storage's node documents: ``nodes/<percent-encoded path>``.

Fields: ``state`` (the NodeState as JSON), ``exists`` (False for a tombstone or a placeholder
holding a create's lock), ``owner`` (the session owning an existing ephemeral node, else None),
``lock_token`` and ``lock_ts`` (None when unlocked), ``pending`` (transaction ids committed but
not yet claimed by the distributor, in order), ``claimed`` (the last one it claimed; absent
before the first), ``requests`` (per session, ``[seq, timestamp]`` of
its last request committed here while it may still be redelivered; absent when none).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from google.cloud.firestore_v1.base_query import FieldFilter
from google.cloud.firestore_v1.document import DocumentReference

from faaskeeper.api.claims import claim_node
from faaskeeper.api.storage import CLAIMED, Claim, Commit, Lock, NodeState, RequestMark, SystemNode
from faaskeeper_gcp.storage.firestore import Batch, Documents, Snapshot, cycles, document_id, exhausted


def node_fields(state: NodeState, lock: Lock | None, pending: Sequence[int]) -> dict[str, Any]:
    owner = state.stat.ephemeral_owner if state.exists else None
    return {
        "path": "",  # filled by the caller that knows the path
        "state": json.dumps(state.to_dict(), separators=(",", ":")),
        "exists": state.exists,
        "owner": owner,
        "lock_token": lock.token if lock is not None else None,
        "lock_ts": lock.timestamp if lock is not None else None,
        "pending": list(pending),
    }


def node_from_snapshot(path: str, snapshot: Snapshot) -> SystemNode:
    data = snapshot.to_dict() or {}
    token = data.get("lock_token")
    lock = Lock(str(token), float(data["lock_ts"])) if token is not None else None
    return SystemNode(
        path,
        NodeState.from_dict(json.loads(data["state"])),
        lock,
        tuple(int(t) for t in data.get("pending", ())),
        {sid: RequestMark(int(seq), float(ts)) for sid, (seq, ts) in (data.get("requests") or {}).items()},
        int(data.get("claimed") or 0),
    )


#: Locks taken here whose nodes are remembered for their commit, at most.
REMEMBERED_LOCKS = 10_000


class NodeDocuments:
    """Locks, commits and claimed transactions over the node documents.

    A lock taken here remembers the node as locked and the update time of the locking write, so
    that its commit, conditional on that time, need not read the node again: if the document
    changed since, the condition fails and the commit reads it, as without the memory."""

    def __init__(self, documents: Documents) -> None:
        self._docs = documents
        self._nodes = documents.collection("nodes")
        self._locked: OrderedDict[tuple[str, str], tuple[SystemNode, datetime]] = OrderedDict()
        self._guard = threading.Lock()

    def _remember(self, node: SystemNode, written: datetime) -> None:
        assert node.lock is not None
        with self._guard:
            self._locked[(node.path, node.lock.token)] = (node, written)
            while len(self._locked) > REMEMBERED_LOCKS:
                self._locked.popitem(last=False)

    def _recall(self, path: str, token: str) -> tuple[SystemNode, datetime] | None:
        with self._guard:
            return self._locked.pop((path, token), None)

    def ref(self, path: str) -> DocumentReference:
        return self._nodes.document(document_id(path))

    def fields(self, path: str, state: NodeState, lock: Lock | None, pending: Sequence[int]) -> dict[str, Any]:
        return {**node_fields(state, lock, pending), "path": path}

    def ensure_root(self) -> None:
        self._docs.create(self.ref("/"), self.fields("/", NodeState(True), None, ()), "create the root node")

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        ref = self.ref(path)
        for _ in cycles():
            snapshot = self._docs.get(ref, "lock node")
            batch = self._docs.batch()
            if not snapshot.exists:
                locked = SystemNode(path, NodeState(False), lock, ())
                batch.create(ref, self.fields(path, locked.state, lock, ()))
            else:
                node = node_from_snapshot(path, snapshot)
                if node.lock == lock:
                    self._remember(node, snapshot.update_time)
                    return node  # our own lock: a retried request that had succeeded
                if node.lock is not None and node.lock.timestamp >= lock.timestamp - max_hold:
                    return None
                locked = replace(node, lock=lock)
                batch.update(ref, {"lock_token": lock.token, "lock_ts": lock.timestamp}, snapshot)
            if batch.commit("lock node"):
                self._remember(locked, batch.update_times[0])
                return locked
        raise exhausted("lock node")

    def unlock_node(self, path: str, lock: Lock) -> None:
        self._recall(path, lock.token)
        ref = self.ref(path)
        for _ in cycles():
            snapshot = self._docs.get(ref, "unlock node")
            if not snapshot.exists:
                return
            node = node_from_snapshot(path, snapshot)
            if node.lock is None or node.lock.token != lock.token:
                return  # not ours (any more)
            if not node.exists and not node.pending:
                done = self._docs.delete(ref, "unlock node", snapshot)
            else:
                done = self._docs.update(ref, {"lock_token": None, "lock_ts": None}, snapshot, "unlock node")
            if done:
                return
        raise exhausted("unlock node")

    def read_node(self, path: str) -> SystemNode | None:
        snapshot = self._docs.get(self.ref(path), "read node")
        return node_from_snapshot(path, snapshot) if snapshot.exists else None

    def stage_commit(self, commit: Commit, batch: Batch) -> bool | None:
        """Add the node writes of ``commit`` to ``batch``, each conditional on the node as this
        instance locked it (remembered, once) or else as read here.

        False if a node is not locked with the commit's token (nothing to do), True if the commit is
        already in place (a retried request that had succeeded); None to proceed."""
        seen: dict[str, tuple[SystemNode, datetime] | None] = {}
        for update in commit.updates:
            remembered = self._recall(update.path, commit.lock_token)
            if remembered is not None:
                seen[update.path] = remembered
        unread = [u.path for u in commit.updates if u.path not in seen]
        for path, snapshot in zip(unread, self._docs.get_all([self.ref(p) for p in unread], "commit"), strict=True):
            seen[path] = (node_from_snapshot(path, snapshot), snapshot.update_time) if snapshot.exists else None
        for update in commit.updates:
            found = seen[update.path]
            if found is None:
                return False
            node, since = found
            if node.lock is None or node.lock.token != commit.lock_token:
                return commit.txn in node.pending
            state = update.resolved(commit.txn)
            fields = self.fields(update.path, state, None, [*node.pending, commit.txn])
            if update.path == commit.record_path:
                marks = commit.marks(node.requests)
                fields["requests"] = {sid: [mark.seq, mark.timestamp] for sid, mark in marks.items()}
            batch.update(self.ref(update.path), fields, since)
        return None

    def claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        for path in dict.fromkeys(reversed(paths)):
            if not self._claim_path(path, txn, deciding=path == paths[-1]):
                return None
        return CLAIMED

    def _claim_path(self, path: str, txn: int, *, deciding: bool) -> bool:
        ref = self.ref(path)
        for _ in cycles():
            snapshot = self._docs.get(ref, "claim transaction")
            node = node_from_snapshot(path, snapshot) if snapshot.exists else None
            holds, after = claim_node(node, txn, deciding=deciding)
            if not holds or after is node:
                return holds
            if after is None:
                done = self._docs.delete(ref, "claim transaction", snapshot)
            else:
                done = self._docs.update(
                    ref, {"pending": list(after.pending), "claimed": after.claimed}, snapshot, "claim transaction"
                )
            if done:
                return True
        raise exhausted("claim transaction")

    def ephemeral_nodes(self, session_id: str) -> list[str]:
        found = self._docs.query(
            self._nodes.where(filter=FieldFilter("owner", "==", session_id)), "find ephemeral nodes"
        )
        owned = [node_from_snapshot(str(s.get("path")), s) for s in found]
        return sorted(n.path for n in owned if n.exists and n.state.stat.ephemeral_owner == session_id)

    def count_nodes(self) -> int:
        return self._docs.count(self._nodes.where(filter=FieldFilter("exists", "==", True)), "count nodes")
