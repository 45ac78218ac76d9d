"""System storage in the deployment file: node rows with locks and pending transactions, sessions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

from faaskeeper.api.claims import claim_rows
from faaskeeper.api.storage import (
    CLAIMED,
    Claim,
    Commit,
    Lock,
    NodeState,
    RequestMark,
    SessionRecord,
    SessionStatus,
    SystemNode,
    SystemStorage,
    WatchKind,
    WatchRecord,
)
from faaskeeper.protocol.leases import new_key
from faaskeeper_local.storage.database import Database

_ROOT_STATE = json.dumps(NodeState(True).to_dict())


_NODE_COLUMNS = "path, state, lock_token, lock_ts, pending, requests, claimed"


def _node(row: Any) -> SystemNode:
    path, state, lock_token, lock_ts, pending, requests, claimed = row
    lock = Lock(lock_token, lock_ts) if lock_token is not None else None
    return SystemNode(
        path, NodeState.from_dict(json.loads(state)), lock, tuple(json.loads(pending)), _marks(requests), claimed
    )


def _marks(text: str) -> dict[str, RequestMark]:
    return {sid: RequestMark(int(seq), float(ts)) for sid, (seq, ts) in json.loads(text).items()}


def _marks_json(marks: dict[str, RequestMark]) -> str:
    return json.dumps({sid: [mark.seq, mark.timestamp] for sid, mark in marks.items()})


def _session(row: Any) -> SessionRecord:
    record, last_seq, last_outcome = row
    data = json.loads(record)
    data["last_seq"] = last_seq
    data["last_outcome"] = json.loads(last_outcome) if last_outcome else None
    return SessionRecord(**data)


class LocalSystemStorage(SystemStorage):
    def __init__(self, db: Database) -> None:
        self._db = db
        #: Per thread, the token of a lock that just found a node held by another writer.
        self._contended = threading.local()

    def ensure_root(self) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO system_nodes (path, state, node_exists) VALUES ('/', ?, 1)",
                (_ROOT_STATE,),
            )

    def lease_key(self) -> bytes:
        """The deployment's session lease key (:mod:`faaskeeper.protocol.leases`), made on first use."""
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('lease-key', ?)", (new_key().hex(),))
            (value,) = conn.execute("SELECT value FROM meta WHERE key = 'lease-key'").fetchone()
        return bytes.fromhex(value)

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        node = self._lock_node(path, lock, max_hold)
        if node is None:
            # Its writer waits for the lock's holder: a function's open transaction must not hold it up.
            self._contended.lock = lock.token
            self._db.commit_now()
        else:
            self._contended.lock = None
        return node

    def _lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        with self._db.transaction() as conn:
            row = conn.execute(f"SELECT {_NODE_COLUMNS} FROM system_nodes WHERE path = ?", (path,)).fetchone()
            if row is None:
                state = NodeState(False)
                conn.execute(
                    "INSERT INTO system_nodes (path, state, node_exists, lock_token, lock_ts) VALUES (?, ?, 0, ?, ?)",
                    (path, json.dumps(state.to_dict()), lock.token, lock.timestamp),
                )
                return SystemNode(path, state, lock, ())
            node = _node(row)
            if node.lock is not None and node.lock.timestamp >= lock.timestamp - max_hold:
                return None
            conn.execute(
                "UPDATE system_nodes SET lock_token = ?, lock_ts = ? WHERE path = ?",
                (lock.token, lock.timestamp, path),
            )
            return replace(node, lock=lock)

    def unlock_node(self, path: str, lock: Lock) -> None:
        self._unlock_node(path, lock)
        if getattr(self._contended, "lock", None) == lock.token:
            # Its writer found a node locked and gives up the others to back off: not while its
            # open transaction holds up every other writer.
            self._db.commit_now()

    def _unlock_node(self, path: str, lock: Lock) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM system_nodes WHERE path = ? AND lock_token = ? AND node_exists = 0 AND pending = '[]'",
                (path, lock.token),
            )
            conn.execute(
                "UPDATE system_nodes SET lock_token = NULL, lock_ts = NULL WHERE path = ? AND lock_token = ?",
                (path, lock.token),
            )

    def commit(self, commit: Commit) -> bool:
        with self._db.transaction() as conn:
            rows = {}
            for update in commit.updates:
                row = conn.execute(
                    "SELECT lock_token, pending, requests FROM system_nodes WHERE path = ?", (update.path,)
                ).fetchone()
                if row is None or row[0] != commit.lock_token:
                    return False
                rows[update.path] = (json.loads(row[1]), row[2])
            for update in commit.updates:
                state = update.resolved(commit.txn)
                owner = state.stat.ephemeral_owner if state.exists else None
                pending, requests = rows[update.path]
                if update.path == commit.record_path:
                    requests = _marks_json(commit.marks(_marks(requests)))
                conn.execute(
                    "UPDATE system_nodes SET state = ?, node_exists = ?, ephemeral_owner = ?, lock_token = NULL, "
                    "lock_ts = NULL, pending = ?, requests = ? WHERE path = ?",
                    (
                        json.dumps(state.to_dict()),
                        int(state.exists),
                        owner,
                        json.dumps([*pending, commit.txn]),
                        requests,
                        update.path,
                    ),
                )
            return True

    def read_node(self, path: str) -> SystemNode | None:
        rows = self._db.query(f"SELECT {_NODE_COLUMNS} FROM system_nodes WHERE path = ?", (path,))
        return _node(rows[0]) if rows else None

    def claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        claim = self._claim_transaction(paths, txn)
        if claim is None:
            # The distributor may wait for the write's writer to commit: a function's open
            # transaction must not hold that commit up.
            self._db.commit_now()
        return claim

    def _claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        with self._db.transaction() as conn:
            rows = {}
            for path in paths:
                row = conn.execute(f"SELECT {_NODE_COLUMNS} FROM system_nodes WHERE path = ?", (path,)).fetchone()
                rows[path] = _node(row) if row is not None else None
            changed = claim_rows(rows, paths, txn)
            if changed is None:
                return None
            for path, node in changed.items():
                if node is None:
                    conn.execute("DELETE FROM system_nodes WHERE path = ?", (path,))
                else:
                    conn.execute(
                        "UPDATE system_nodes SET pending = ?, claimed = ? WHERE path = ?",
                        (json.dumps(list(node.pending)), node.claimed, path),
                    )
            return CLAIMED

    def ephemeral_nodes(self, session_id: str) -> list[str]:
        rows = self._db.query(
            "SELECT path FROM system_nodes WHERE ephemeral_owner = ? AND node_exists = 1 ORDER BY path",
            (session_id,),
        )
        return [r[0] for r in rows]

    def create_session(self, session: SessionRecord) -> bool:
        data = asdict(session)
        last_seq = data.pop("last_seq")
        data.pop("last_outcome")
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO sessions (session_id, record, last_seq) VALUES (?, ?, ?)",
                (session.session_id, json.dumps(data), last_seq),
            )
            return cursor.rowcount == 1

    def read_session(self, session_id: str) -> SessionRecord | None:
        rows = self._db.query("SELECT record, last_seq, last_outcome FROM sessions WHERE session_id = ?", (session_id,))
        return _session(rows[0]) if rows else None

    def record_outcome(self, session_id: str, seq: int, outcome: dict[str, Any]) -> bool:
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET last_seq = ?, last_outcome = ? WHERE session_id = ? AND last_seq < ?",
                (seq, json.dumps(outcome), session_id, seq),
            )
            return cursor.rowcount == 1

    def delete_session(self, session_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))

    def list_sessions(self) -> list[SessionRecord]:
        rows = self._db.query("SELECT record, last_seq, last_outcome FROM sessions ORDER BY session_id")
        return [_session(r) for r in rows]

    def count_nodes(self) -> int:
        return int(self._db.query("SELECT COUNT(*) FROM system_nodes WHERE node_exists = 1")[0][0])

    def touch_session(self, session_id: str, silent_since: float) -> None:
        self._change_session(session_id, lambda record: {"silent_since": silent_since})

    def end_session(self, session_id: str, ended_at: float) -> SessionRecord | None:
        def ended(record: dict[str, Any]) -> dict[str, Any] | None:
            if record.get("status", SessionStatus.ACTIVE) != SessionStatus.ACTIVE:
                return None
            return {"status": SessionStatus.ENDING.value, "ended_at": ended_at}

        self._change_session(session_id, ended)
        return self.read_session(session_id)

    def drain_session(self, session_id: str) -> None:
        def drained(record: dict[str, Any]) -> dict[str, Any] | None:
            return {"status": SessionStatus.DRAINED.value} if record.get("status") == SessionStatus.ENDING else None

        self._change_session(session_id, drained)

    def _change_session(self, session_id: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """Update fields of a session's record in one transaction; ``change`` names them (None: none)."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT record FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
            if row is None:
                return
            record = json.loads(row[0])
            fields = change(record)
            if fields:
                record.update(fields)
                conn.execute("UPDATE sessions SET record = ? WHERE session_id = ?", (json.dumps(record), session_id))

    # -- watches --------------------------------------------------------------------------

    def add_watch(self, watch: WatchRecord) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO watches VALUES (?, ?, ?, ?, ?) ON CONFLICT (path, kind, session_id) "
                "DO UPDATE SET counter = MAX(counter, excluded.counter), address = excluded.address",
                (watch.path, watch.kind.value, watch.session_id, watch.counter, watch.address),
            )

    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        marks = ",".join("?" * len(kinds))
        rows = self._db.query(
            f"SELECT path, kind, session_id, counter, address FROM watches "
            f"WHERE path = ? AND kind IN ({marks}) AND counter < ?",
            (path, *(k.value for k in kinds), txn),
        )
        return [WatchRecord(p, WatchKind(k), sid, counter, address) for p, k, sid, counter, address in rows]

    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        with self._db.transaction() as conn:
            conn.executemany(
                "DELETE FROM watches WHERE path = ? AND kind = ? AND session_id = ? AND counter = ?",
                [(w.path, w.kind.value, w.session_id, w.counter) for w in watches],
            )

    def remove_session_watches(self, session_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM watches WHERE session_id = ?", (session_id,))

    def count_watches(self) -> int:
        return int(self._db.query("SELECT COUNT(*) FROM watches")[0][0])

    def claim_schedule(self, name: str, now: float, interval: float) -> bool:
        """Whether this caller runs the scheduled function ``name`` now (one process per period)."""
        with self._db.transaction() as conn:
            row = conn.execute("SELECT next_run FROM schedules WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] > now:
                return False
            conn.execute("INSERT OR REPLACE INTO schedules VALUES (?, ?)", (name, now + interval))
            return True
