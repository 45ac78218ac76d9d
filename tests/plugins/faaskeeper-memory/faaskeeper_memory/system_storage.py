"""System storage in dicts: node rows with locks and pending transactions, sessions and watches.

One lock guards everything, so each method (a commit over several nodes included) is atomic.
Watch tallies are kept beside the node rows, by path.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from faaskeeper.api.claims import claim_rows
from faaskeeper.api.storage import (
    NO_NODE,
    Claim,
    Commit,
    CreateItem,
    Item,
    ItemKey,
    ItemWrite,
    Lock,
    NodeState,
    SessionRecord,
    SessionStatus,
    SystemNode,
    SystemStorage,
    UpdateItem,
    WatchKind,
    WatchRecord,
    WatchTally,
)

WatchKey = tuple[str, WatchKind, str]


class MemorySystemStorage(SystemStorage):
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._nodes: dict[str, SystemNode] = {"/": SystemNode("/", NodeState(True))}
        self._sessions: dict[str, SessionRecord] = {}
        self._watches: dict[WatchKey, WatchRecord] = {}
        self._tallies: dict[str, WatchTally] = {}
        self._items: dict[ItemKey, Item] = {}
        self._versions = itertools.count(1)

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        with self._guard:
            node = self._nodes.get(path)
            if node is None:
                node = SystemNode(path, NodeState(False), lock)
            elif node.lock is not None and node.lock.timestamp >= lock.timestamp - max_hold:
                return None
            else:
                node = replace(node, lock=lock)
            self._nodes[path] = node
            return node

    def unlock_node(self, path: str, lock: Lock) -> None:
        with self._guard:
            node = self._nodes.get(path)
            if node is None or node.lock is None or node.lock.token != lock.token:
                return
            if not node.exists and not node.pending:
                del self._nodes[path]
            else:
                self._nodes[path] = replace(node, lock=None)

    def commit(self, commit: Commit) -> bool:
        with self._guard:
            for update in commit.updates:
                node = self._nodes.get(update.path)
                if node is None or node.lock is None or node.lock.token != commit.lock_token:
                    return False
            for update in commit.updates:
                node = self._nodes[update.path]
                requests = commit.marks(node.requests) if update.path == commit.record_path else node.requests
                self._nodes[update.path] = replace(
                    node,
                    state=update.resolved(commit.txn),
                    lock=None,
                    pending=(*node.pending, commit.txn),
                    requests=requests,
                )
            return True

    def read_node(self, path: str) -> SystemNode | None:
        with self._guard:
            return self._nodes.get(path)

    def claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        with self._guard:
            changed = claim_rows(self._nodes, paths, txn)
            if changed is None:
                return None
            for path, node in changed.items():
                if node is None:
                    del self._nodes[path]
                else:
                    self._nodes[path] = node
            return Claim({path: self._tallies.get(path, WatchTally()) for path in paths})

    def ephemeral_nodes(self, session_id: str) -> list[str]:
        with self._guard:
            return sorted(
                path
                for path, node in self._nodes.items()
                if node.exists and node.state.stat.ephemeral_owner == session_id
            )

    def create_session(self, session: SessionRecord) -> bool:
        with self._guard:
            if session.session_id in self._sessions:
                return False
            self._sessions[session.session_id] = copy.deepcopy(session)
            return True

    def read_session(self, session_id: str) -> SessionRecord | None:
        with self._guard:
            session = self._sessions.get(session_id)
            return copy.deepcopy(session) if session is not None else None

    def record_outcome(self, session_id: str, seq: int, outcome: dict[str, Any]) -> bool:
        with self._guard:
            session = self._sessions.get(session_id)
            if session is None or session.last_seq >= seq:
                return False
            session.last_seq = seq
            session.last_outcome = copy.deepcopy(outcome)
            return True

    def end_session(self, session_id: str, ended_at: float) -> SessionRecord | None:
        with self._guard:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session.active:
                session.status, session.ended_at = SessionStatus.ENDING, ended_at
            return copy.deepcopy(session)

    def drain_session(self, session_id: str) -> None:
        with self._guard:
            session = self._sessions.get(session_id)
            if session is not None and session.status == SessionStatus.ENDING:
                session.status = SessionStatus.DRAINED

    def delete_session(self, session_id: str) -> None:
        with self._guard:
            self._sessions.pop(session_id, None)

    def list_sessions(self) -> list[SessionRecord]:
        with self._guard:
            return [copy.deepcopy(s) for _, s in sorted(self._sessions.items())]

    def count_nodes(self) -> int:
        with self._guard:
            return sum(1 for node in self._nodes.values() if node.exists)

    def touch_session(self, session_id: str, silent_since: float) -> None:
        with self._guard:
            session = self._sessions.get(session_id)
            if session is not None:
                session.silent_since = silent_since

    # -- watches --------------------------------------------------------------------------

    def add_watch(self, watch: WatchRecord) -> int | None:
        key = (watch.path, watch.kind, watch.session_id)
        with self._guard:
            existing = self._watches.get(key)
            counter = watch.counter if existing is None else max(existing.counter, watch.counter)
            self._watches[key] = replace(watch, counter=counter)
            node = self._nodes.get(watch.path)
            if watch.kind is WatchKind.CHILDREN or watch.counter == NO_NODE or node is None or not node.exists:
                return None
            tally = self._tallies.get(watch.path, WatchTally())
            self._tallies[watch.path] = replace(tally, registered=tally.registered + 1)
            return node.claimed

    def settle_watches(self, path: str, registered: int) -> None:
        with self._guard:
            tally = self._tallies.get(path)
            if tally is not None and tally.registered == registered:
                self._tallies[path] = replace(tally, settled=registered)

    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        with self._guard:
            return [w for w in self._watches.values() if w.path == path and w.kind in kinds and w.counter < txn]

    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        with self._guard:
            for watch in watches:
                key = (watch.path, watch.kind, watch.session_id)
                existing = self._watches.get(key)
                if existing is not None and existing.counter == watch.counter:
                    del self._watches[key]

    def remove_session_watches(self, session_id: str) -> None:
        with self._guard:
            for key in [k for k in self._watches if k[2] == session_id]:
                del self._watches[key]

    def count_watches(self) -> int:
        with self._guard:
            return len(self._watches)

    # -- items ----------------------------------------------------------------------------

    def read_items(self, keys: Sequence[ItemKey]) -> list[Item | None]:
        with self._guard:
            return [self._items.get(key) for key in keys]

    def write_items(self, writes: Sequence[ItemWrite]) -> list[object] | None:
        with self._guard:
            for write in writes:
                item = self._items.get(write.key)
                if isinstance(write, CreateItem) and item is not None:
                    return None
                if isinstance(write, UpdateItem) and (item is None or item.version != write.since):
                    return None
            versions: list[object] = []
            for write in writes:
                version = next(self._versions)
                if isinstance(write, CreateItem):
                    self._items[write.key] = Item(write.key, dict(write.value), version)
                elif isinstance(write, UpdateItem):
                    self._items[write.key] = Item(write.key, {**self._items[write.key].value, **write.value}, version)
                else:
                    self._items.pop(write.key, None)
                versions.append(version)
            return versions
