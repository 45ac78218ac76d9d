"""System storage in Cosmos DB (NoSQL API): node items with locks and pending transactions,
sessions, watches and the items of the core's sequenced log, in one container of the
deployment's database.

Every change is a read followed by a write conditional on the read item's ETag
(``IfNotModified``), or a create that fails on an existing id, so nothing is written on a view
that is out of date; a failed condition re-reads. A commit is ONE transactional batch replacing
every node of the write (``state``, ``live``, ``owner``, ``pending + [txn]``, lock cleared, and on
the record node the request marks), each conditional on the ETag of the item that showed it
locked with the commit's token.

Each node item also keeps the node's watch tally (:mod:`faaskeeper_azure.storage.nodes`), so that
a write on a node no data or exists watch is stored on looks none up.

Partition key design. A transactional batch stays within one logical partition, so every node
item shares the partition key ``nodes``: a commit over a node and its parent (a create or a
delete), or over any nodes at all, is one batch. Sessions (``sessions``), watches (``watches``)
and the log's items (``items``) are never written in a batch with nodes and each have their own
partition. This bounds a deployment:

* a logical partition holds at most 20 GB: the node items (a path, its stat and its children's
  names, about 0.5-1 KB a node without children) fit 20 million or so nodes, far more than a
  ZooKeeper tree holds (node data lives in user storage, not here);
* a logical partition is served by one physical partition, at most 10,000 request units per
  second: a write costs about 30-60 RU on its nodes (a read and a conditional replace per lock,
  the commit's batch, the claim), so one deployment's writes top out at a few hundred per
  second whatever throughput the container is given;
* a batch holds at most 100 operations and 2 MB: a commit touches at most three nodes, and a
  node item with its children list stays well below 2 MB unless a node has tens of thousands
  of children.

A user who hits them sees ``429`` (too many requests) turned into a ProviderException naming
the throttling once the SDK's own retries gave up, or ``413`` for a too large item: they raise
the container's throughput up to the partition's 10,000 RU/s (or use autoscale), keep
directories below some ten thousand children, and split a tree larger or busier than one
partition serves into several deployments (each its own database). docs/providers/azure.md
says the same for users.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faaskeeper.api.storage import (
    Claim,
    Commit,
    Item,
    ItemKey,
    ItemWrite,
    Lock,
    SessionRecord,
    SystemNode,
    SystemStorage,
    WatchKind,
    WatchRecord,
)
from faaskeeper_azure.settings import AzureSettings
from faaskeeper_azure.storage.cosmos import Container
from faaskeeper_azure.storage.items import Items
from faaskeeper_azure.storage.nodes import NodeItems
from faaskeeper_azure.storage.sessions import SessionItems


class CosmosSystemStorage(SystemStorage):
    def __init__(self, settings: AzureSettings, container: Container | None = None) -> None:
        self.container = container or Container(settings, settings.names.system_container)
        self._nodes = NodeItems(self.container)
        self._sessions = SessionItems(self.container)
        self._items = Items(self.container)

    def ensure_root(self) -> None:
        self._nodes.ensure_root()

    # -- nodes ----------------------------------------------------------------------------

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        return self._nodes.lock_node(path, lock, max_hold)

    def unlock_node(self, path: str, lock: Lock) -> None:
        self._nodes.unlock_node(path, lock)

    def commit(self, commit: Commit) -> bool:
        return self._nodes.commit(commit)

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

    # -- watches --------------------------------------------------------------------------

    def add_watch(self, watch: WatchRecord) -> int | None:
        """Store the watch, then count it in its node's tally."""
        self._sessions.add_watch(watch)
        return self._nodes.count_watch(watch)

    def settle_watches(self, path: str, registered: int) -> None:
        self._nodes.settle_watches(path, registered)

    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        return self._sessions.triggered_watches(path, kinds, txn)

    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        self._sessions.remove_watches(watches)

    def remove_session_watches(self, session_id: str) -> None:
        self._sessions.remove_session_watches(session_id)

    def count_watches(self) -> int:
        return self._sessions.count_watches()

    # -- items ----------------------------------------------------------------------------

    def read_items(self, keys: Sequence[ItemKey]) -> list[Item | None]:
        return self._items.read_items(keys)

    def write_items(self, writes: Sequence[ItemWrite]) -> list[object] | None:
        return self._items.write_items(writes)
