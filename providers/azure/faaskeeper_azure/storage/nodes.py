"""System storage's node items: partition ``nodes`` of the system container, id :func:`item_id` of the path.

Fields: ``path``, ``state`` (the NodeState as JSON), ``live`` (False for a tombstone or a
placeholder holding a create's lock), ``owner`` (the session owning an existing ephemeral node,
else None), ``lock_token`` and ``lock_ts`` (None when unlocked), ``pending`` (transaction ids
committed but not yet claimed by the distributor, in order), ``claimed`` (the last one it
claimed; 0 before the first), ``requests`` (per session, ``[seq, timestamp]`` of its last request
committed here while it may still be redelivered), and the node's watch tally
(:class:`~faaskeeper.api.storage.WatchTally`): ``watch_count``, the data and exists watches ever
counted on it, and ``watch_settled``, that count when the distributor last found none of them
stored. A create's commit sets both to 0 (no such watch can be stored on a node that does not
exist); an item without them was never settled, and its watches are looked up.

A registration counts its watch with a conditional replace of the live node's item, which reads
the last claimed transaction in the same step; a claim is a conditional replace too, so the tally
it reports is the one it replaced.

Every node is in ONE logical partition, so that a commit over several nodes is one
transactional batch (see :mod:`faaskeeper_azure.storage.system` for what that limits).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

from faaskeeper.api.claims import claim_node
from faaskeeper.api.storage import (
    NO_NODE,
    Claim,
    Commit,
    Lock,
    NodeState,
    RequestMark,
    SystemNode,
    WatchKind,
    WatchRecord,
    WatchTally,
)
from faaskeeper_azure.storage.cosmos import Container, Document, Operation, Refusal, cycles, exhausted, item_id

#: The partition key of every node item.
NODES = "nodes"
#: The fields of a node's watch tally, and the ``watch_settled`` of a tally never settled.
COUNT, SETTLED = "watch_count", "watch_settled"
NEVER_SETTLED = -1


def tally_of(document: Document) -> WatchTally:
    return WatchTally(registered=int(document.get(COUNT, 0)), settled=int(document.get(SETTLED, NEVER_SETTLED)))


def node_document(node: SystemNode) -> Document:
    owner = node.state.stat.ephemeral_owner if node.exists else None
    return {
        "id": item_id(node.path),
        "pk": NODES,
        "path": node.path,
        "state": json.dumps(node.state.to_dict(), separators=(",", ":")),
        "live": node.exists,
        "owner": owner,
        "lock_token": node.lock.token if node.lock is not None else None,
        "lock_ts": node.lock.timestamp if node.lock is not None else None,
        "pending": list(node.pending),
        "claimed": node.claimed,
        "requests": {sid: [mark.seq, mark.timestamp] for sid, mark in node.requests.items()},
    }


def node_from_document(document: Document) -> SystemNode:
    token = document.get("lock_token")
    return SystemNode(
        str(document["path"]),
        NodeState.from_dict(json.loads(document["state"])),
        Lock(str(token), float(document["lock_ts"])) if token is not None else None,
        tuple(int(t) for t in document.get("pending") or ()),
        {sid: RequestMark(int(seq), float(ts)) for sid, (seq, ts) in (document.get("requests") or {}).items()},
        int(document.get("claimed") or 0),
    )


class NodeItems:
    """Locks, commits and claimed transactions over the node items."""

    def __init__(self, container: Container) -> None:
        self._items = container

    def _read(self, path: str, action: str) -> Document | None:
        return self._items.read(NODES, item_id(path), action)

    def _replace(self, node: SystemNode, seen: Document, action: str, **fields: int) -> Document | None:
        """Replace ``seen`` with ``node`` (keeping its tally, or setting ``fields``) if unchanged since read."""
        return self._items.replace({**seen, **node_document(node), **fields}, seen["_etag"], action)

    def ensure_root(self) -> None:
        self._items.create(node_document(SystemNode("/", NodeState(True))), "create the root node")

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        for _ in cycles():
            found = self._read(path, "lock node")
            if found is None:
                placeholder = SystemNode(path, NodeState(False), lock)
                if self._items.create(node_document(placeholder), "lock node") is not None:
                    return placeholder
                continue
            node = node_from_document(found)
            if node.lock == lock:
                return node  # our own lock: a retried request that had succeeded
            if node.lock is not None and node.lock.timestamp >= lock.timestamp - max_hold:
                return None
            locked = replace(node, lock=lock)
            if self._replace(locked, found, "lock node") is not None:
                return locked
        raise exhausted("lock node")

    def unlock_node(self, path: str, lock: Lock) -> None:
        for _ in cycles():
            found = self._read(path, "unlock node")
            if found is None:
                return
            node = node_from_document(found)
            if node.lock is None or node.lock.token != lock.token:
                return  # not ours (any more)
            if not node.exists and not node.pending:
                done = self._items.delete(NODES, found["id"], "unlock node", found["_etag"])
            else:
                done = self._replace(replace(node, lock=None), found, "unlock node") is not None
            if done:
                return
        raise exhausted("unlock node")

    def read_node(self, path: str) -> SystemNode | None:
        found = self._read(path, "read node")
        return node_from_document(found) if found is not None else None

    def commit(self, commit: Commit) -> bool:
        for _ in cycles():
            staged = self._stage_commit(commit)
            if isinstance(staged, bool):
                return staged
            if not isinstance(self._items.batch(NODES, staged, "commit"), Refusal):
                return True
        raise exhausted("commit")

    def _stage_commit(self, commit: Commit) -> list[Operation] | bool:
        """The batch that applies ``commit``, each replace conditional on the item read here.

        False if a node is not locked with the commit's token (nothing to do), True if the commit
        is already in place (a retried request that had succeeded)."""
        operations: list[Operation] = []
        for update in commit.updates:
            found = self._read(update.path, "commit")
            if found is None:
                return False
            node = node_from_document(found)
            if node.lock is None or node.lock.token != commit.lock_token:
                return commit.txn in node.pending
            after = replace(node, state=update.resolved(commit.txn), lock=None, pending=(*node.pending, commit.txn))
            if update.path == commit.record_path:
                after = replace(after, requests=commit.marks(node.requests))
            document = {**found, **node_document(after)}
            if update.created:
                document.update({COUNT: 0, SETTLED: 0})
            operations.append(("replace", (found["id"], document), {"if_match_etag": found["_etag"]}))
        return operations

    def claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        """The deciding node first; the tally of each node whose item the claim replaced, as replaced."""
        tallies: dict[str, WatchTally] = {}
        for path in dict.fromkeys(reversed(paths)):
            holds, replaced = self._claim_path(path, txn, deciding=path == paths[-1])
            if not holds:
                return None
            if replaced is not None:
                tallies[path] = tally_of(replaced)
        return Claim(tallies)

    def _claim_path(self, path: str, txn: int, *, deciding: bool) -> tuple[bool, Document | None]:
        """Whether the claim holds on ``path``, and the item it replaced (None: none replaced)."""
        for _ in cycles():
            found = self._read(path, "claim transaction")
            node = node_from_document(found) if found is not None else None
            holds, after = claim_node(node, txn, deciding=deciding)
            if not holds or after is node or found is None:
                return holds, None
            if after is None:
                if self._items.delete(NODES, found["id"], "claim transaction", found["_etag"]):
                    return True, None
            elif self._replace(after, found, "claim transaction") is not None:
                return True, found
        raise exhausted("claim transaction")

    # -- watch tallies --------------------------------------------------------------------

    def count_watch(self, watch: WatchRecord) -> int | None:
        """Count a stored data or exists watch in its live node's tally: the last transaction
        claimed on the node before; None for a children watch or a node that is not live."""
        if watch.kind is WatchKind.CHILDREN or watch.counter == NO_NODE:
            return None
        for _ in cycles():
            found = self._read(watch.path, "count watch")
            if found is None or not found.get("live"):
                return None
            node = node_from_document(found)
            if self._replace(node, found, "count watch", **{COUNT: tally_of(found).registered + 1}) is not None:
                return node.claimed
        raise exhausted("count watch")

    def settle_watches(self, path: str, registered: int) -> None:
        """Settle the tally at ``registered`` unless it counted another watch since."""
        for _ in cycles():
            found = self._read(path, "settle watches")
            if found is None or tally_of(found).registered != registered:
                return
            settled = {COUNT: registered, SETTLED: registered}
            if self._replace(node_from_document(found), found, "settle watches", **settled) is not None:
                return
        raise exhausted("settle watches")

    def ephemeral_nodes(self, session_id: str) -> list[str]:
        found = self._items.query(NODES, "c.owner = @owner", "find ephemeral nodes", owner=session_id)
        owned = [node_from_document(document) for document in found]
        return sorted(n.path for n in owned if n.exists and n.state.stat.ephemeral_owner == session_id)

    def count_nodes(self) -> int:
        return self._items.count(NODES, "c.live = true", "count nodes")
