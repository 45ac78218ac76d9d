"""System storage (authoritative, functions only) and user storage (what clients read)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, TypeAlias

from faaskeeper.node import Footprint, Node, Stat


@dataclass(frozen=True)
class Lock:
    """A writer's hold on a node: a unique token and the time it was taken (seconds, float)."""

    token: str
    timestamp: float

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "timestamp": self.timestamp}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Lock:
        return Lock(str(data["token"]), float(data["timestamp"]))


@dataclass(frozen=True)
class NodeState:
    """The committed state of one node in system storage.

    ``exists`` is False for a tombstone: a deleted node whose delete is still pending in the
    distributor, or a placeholder holding a lock for a create.
    """

    exists: bool
    stat: Stat = field(default_factory=Stat)
    children: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"exists": self.exists, "stat": self.stat.to_dict(), "children": list(self.children)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> NodeState:
        return NodeState(
            exists=bool(data["exists"]),
            stat=Stat.from_dict(data["stat"]),
            children=tuple(data["children"]),
        )

    def with_txn(self, txn: int, *, created: bool, modified: bool, children_changed: bool) -> NodeState:
        """Fill in the transaction id of the write that produced this state."""
        changes: dict[str, int] = {}
        if created:
            changes["czxid"] = txn
        if created or modified:
            changes["mzxid"] = txn
        if created or children_changed:
            changes["pzxid"] = txn
        return replace(self, stat=self.stat.updated(**changes)) if changes else self


@dataclass(frozen=True)
class RequestMark:
    """The last request of one session committed on a node: its sequence number and when."""

    seq: int
    timestamp: float

    def later(self, other: RequestMark | None) -> RequestMark:
        """This mark or ``other``, whichever records the later request."""
        return other if other is not None and other.seq > self.seq else self


@dataclass(frozen=True)
class SystemNode:
    """One node's row in system storage: state, lock, the transactions committed but not yet
    claimed by the distributor, the last one it claimed, and the requests sessions committed on
    it while those may still be redelivered."""

    path: str
    state: NodeState
    lock: Lock | None = None
    pending: tuple[int, ...] = ()
    requests: dict[str, RequestMark] = field(default_factory=dict)
    #: The last transaction the distributor claimed on this node (0: none).
    claimed: int = 0

    def committed(self, session_id: str, seq: int) -> bool:
        """Whether the session's request ``seq`` (or a later one) committed on this node."""
        mark = self.requests.get(session_id)
        return mark is not None and mark.seq >= seq

    @property
    def exists(self) -> bool:
        return self.state.exists


@dataclass(frozen=True)
class NodeUpdate:
    """The new state of one node in a commit; ``txn_fields`` says which counters take the txn id."""

    path: str
    state: NodeState
    created: bool = False
    modified: bool = False
    children_changed: bool = False

    def resolved(self, txn: int) -> NodeState:
        return self.state.with_txn(
            txn, created=self.created, modified=self.modified, children_changed=self.children_changed
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "state": self.state.to_dict(),
            "created": self.created,
            "modified": self.modified,
            "children_changed": self.children_changed,
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> NodeUpdate:
        return NodeUpdate(
            path=str(data["path"]),
            state=NodeState.from_dict(data["state"]),
            created=bool(data["created"]),
            modified=bool(data["modified"]),
            children_changed=bool(data["children_changed"]),
        )


@dataclass(frozen=True)
class Commit:
    """A write made durable in system storage, atomically over every node it touches.

    Conditional on every node still being locked with ``lock_token``; sets each node's new
    state (counters resolved to ``txn``), appends ``txn`` to its pending list and unlocks it.
    When ``request_seq`` is set, the same write records it as the session's :class:`RequestMark`
    on the node the writer locked first (the last update: the lowest common ancestor of the
    nodes it locks, so the parent of a single create or delete, the node of a set_data), so a
    redelivered request is recognised as done when its lock is taken,
    and drops the marks of the sessions in ``forget`` there (too old to be redelivered). The
    session's own record is not written: a set_data commit is one node.

    A node a commit deletes hands its marks to the record node (``inherited``, each already the
    later of the two nodes' marks), so a request recorded on a node deleted since is still
    recognised, by its mark on an ancestor.

    A transaction's commit updates every node it locked, those it only checked or locked as
    the common ancestor included (their state unchanged, no counter flag set): the commit is
    conditional on each lock and releases each. It must be one atomic write however many nodes
    it has, up to the provider's :meth:`~faaskeeper.api.provider.Provider.max_commit_writes`.
    """

    txn: int
    lock_token: str
    updates: tuple[NodeUpdate, ...]
    session_id: str
    request_seq: int | None
    timestamp: float = 0.0
    forget: tuple[str, ...] = ()
    inherited: Mapping[str, RequestMark] = field(default_factory=dict)

    @property
    def record_path(self) -> str:
        """The node the request's mark is recorded on."""
        return self.updates[-1].path

    def marks(self, current: dict[str, RequestMark]) -> dict[str, RequestMark]:
        """``current``, the marks of :attr:`record_path`, as this commit leaves them."""
        kept = {sid: mark for sid, mark in current.items() if sid not in self.forget}
        kept.update(self.inherited)
        if self.request_seq is not None:
            kept[self.session_id] = RequestMark(self.request_seq, self.timestamp)
        return kept


class SessionStatus(StrEnum):
    """Where a session is in its life (see :meth:`SystemStorage.end_session`)."""

    #: Registered; takes requests.
    ACTIVE = "active"
    #: Closed or expired: takes no more requests. Its end's answer has not passed the
    #: distributor yet, or ephemeral nodes of it committed after the end are being deleted.
    ENDING = "ending"
    #: Ended, and every write it sent before its end is decided and none of its ephemeral nodes
    #: is left; the record is kept until every lease of the session has run out.
    DRAINED = "drained"


@dataclass
class SessionRecord:
    """A client session as system storage holds it."""

    session_id: str
    channel: str
    token_digest: str
    heartbeat: bool = True
    created: float = 0.0
    #: The last request answered by the writer itself (a registration or a failure); committed
    #: writes are marked on their nodes instead (:class:`RequestMark`).
    last_seq: int = 0
    last_outcome: dict[str, Any] | None = None
    status: str = SessionStatus.ACTIVE
    #: When the session first missed a heartbeat; 0.0 while it answers.
    silent_since: float = 0.0
    #: When the session was closed or expired (``time.time()`` seconds); 0.0 while active.
    ended_at: float = 0.0

    @property
    def active(self) -> bool:
        return self.status == SessionStatus.ACTIVE


class WatchKind(StrEnum):
    """What a watch was set by: get_data, exists or get_children."""

    DATA = "data"
    EXISTS = "exists"
    CHILDREN = "children"


#: The counter of an exists watch set on a node that did not exist.
NO_NODE = -1


@dataclass(frozen=True)
class WatchRecord:
    """A watch in system storage: set by ``session_id`` on ``path`` when the node's counter was
    ``counter`` (mzxid for data and exists, pzxid for children, NO_NODE for a missing node).
    It fires on a write with a larger transaction id, never on an older one."""

    path: str
    kind: WatchKind
    session_id: str
    counter: int
    #: The session's client channel address, so firing needs no session lookup.
    address: str = ""


@dataclass(frozen=True)
class WatchTally:
    """How many data and exists watches were ever counted on a node (``registered``, a count
    that only grows), and that count when the distributor last found none of them stored
    (``settled``).

    A write that only changes a node's data fires only its data and exists watches; where the
    tally its claim read is quiet it has none to look for. A watch counted after that claim
    finds the claimed transaction in :meth:`SystemStorage.add_watch`'s answer, and its client
    waits for that write to be applied and compares (watch-before-data holds: it is told
    before it reads the new data)."""

    registered: int = 0
    settled: int = 0

    @property
    def quiet(self) -> bool:
        """No data or exists watch is stored on the node."""
        return self.registered == self.settled


@dataclass(frozen=True)
class Claim:
    """A claimed transaction, with the watch tallies its claim read, by path (see
    :meth:`SystemStorage.claim_transaction`); empty where the storage keeps none or read none."""

    tallies: Mapping[str, WatchTally] = field(default_factory=dict)


#: The claim of a storage that keeps no watch tallies.
CLAIMED = Claim()


#: Where an item lives: names from the outside in, an item's own name last. An item may have
#: items below it: ``("log", "records", "7")`` lies below ``("log",)``, in its ``records``.
ItemKey: TypeAlias = tuple[str, ...]
#: What an item holds: a few named numbers, strings and bytes.
ItemValue: TypeAlias = dict[str, int | str | bytes]


@dataclass(frozen=True)
class Item:
    """A small record that a part of the core keeps in system storage (the log of
    :mod:`faaskeeper.protocol.sequencer`), as read: its value and the version a conditional
    write compares (opaque: each storage has its own)."""

    key: ItemKey
    value: ItemValue
    version: object


@dataclass(frozen=True)
class CreateItem:
    """Create the item; the batch fails if it exists."""

    key: ItemKey
    value: ItemValue


@dataclass(frozen=True)
class UpdateItem:
    """Set the fields of ``value`` (keeping the others); the batch fails unless the item still is
    at the version ``since`` (an :attr:`Item.version`, or one :meth:`SystemStorage.write_items`
    returned)."""

    key: ItemKey
    value: ItemValue
    since: object


@dataclass(frozen=True)
class DeleteItem:
    """Delete the item if it exists (not the items below it)."""

    key: ItemKey


ItemWrite: TypeAlias = CreateItem | UpdateItem | DeleteItem


class SystemStorage(ABC):
    """Authoritative per-node state, sessions and the distributor's progress.

    Only the functions use it. Every method is atomic on its own.
    """

    @abstractmethod
    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        """Take ``lock`` on ``path`` if it is unlocked or its lock is older than ``max_hold`` seconds.

        Returns the node as it was when locked (a non-existing placeholder if absent), or
        ``None`` when another holder has it. Locking is also the read.
        """

    @abstractmethod
    def unlock_node(self, path: str, lock: Lock) -> None:
        """Release ``lock`` if still held; drop the row if it is a placeholder with nothing pending."""

    @abstractmethod
    def commit(self, commit: Commit) -> bool:
        """Apply ``commit`` atomically; False (and nothing written) if any lock is no longer held."""

    @abstractmethod
    def read_node(self, path: str) -> SystemNode | None:
        """The node's row, or None if system storage has none."""

    @abstractmethod
    def claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        """The distributor's claim of ``txn`` before it applies it; ``paths`` are the nodes the
        write updated, the last one deciding (the commit's ``record_path``).

        On the deciding node ``txn`` must be pending or already claimed, else None and nothing
        is written (the write has not committed, or never will). Then on every node ``txn``
        leaves the pending list and becomes the node's ``claimed`` transaction, and a tombstone
        left with nothing pending and no lock is dropped; a node without ``txn`` pending is
        claimed already (its tombstone was dropped, perhaps locked again since). None too where
        a later transaction (a larger id) was claimed on one of the nodes: the write was applied
        and superseded, and applying it again would undo the later one. Need not be atomic
        across nodes: the deciding node is claimed first, and a redelivered event claims the
        rest again.

        A storage that keeps watch tallies reports, in the returned :class:`Claim`, the tally of
        each node it read in the same atomic step as it claimed the node there."""

    @abstractmethod
    def ephemeral_nodes(self, session_id: str) -> list[str]:
        """Paths of the existing ephemeral nodes owned by ``session_id``."""

    @abstractmethod
    def create_session(self, session: SessionRecord) -> bool:
        """Store a new session; False if the id is taken."""

    @abstractmethod
    def read_session(self, session_id: str) -> SessionRecord | None: ...

    @abstractmethod
    def record_outcome(self, session_id: str, seq: int, outcome: dict[str, Any]) -> bool:
        """Advance the session's ``last_seq`` to ``seq`` with a failed request's reply, if it is behind."""

    @abstractmethod
    def end_session(self, session_id: str, ended_at: float) -> SessionRecord | None:
        """End an active session at ``ended_at``: its status becomes ENDING, and it takes no
        more requests. A session that ended already keeps its status and time. Returns the
        record as it is after; None if there is none.

        The record outlives the session: the distributor drains it once its end's answer passes
        (:meth:`drain_session`), and it is deleted once that happened and every lease it was
        given has run out."""

    @abstractmethod
    def drain_session(self, session_id: str) -> None:
        """Move an ENDING session to DRAINED; nothing for any other status or a missing record."""

    @abstractmethod
    def delete_session(self, session_id: str) -> None: ...

    @abstractmethod
    def list_sessions(self) -> list[SessionRecord]:
        """Every session record, ended ones whose record is kept included (see :attr:`SessionRecord.status`)."""

    @abstractmethod
    def count_nodes(self) -> int:
        """Existing nodes, the root included."""

    # -- watches --------------------------------------------------------------------------

    @abstractmethod
    def add_watch(self, watch: WatchRecord) -> int | None:
        """Store a watch; one per (path, kind, session), the larger counter wins.

        A storage that keeps watch tallies then counts a data or exists watch set on a live
        node in that node's tally, and returns the last transaction claimed on the node before
        it did: every later claim reports the watch, an earlier one may have been applied
        without looking for it (see :class:`WatchTally`). None: no tally counted the watch, and
        every write looks for watches after it is applied."""

    def settle_watches(self, path: str, registered: int) -> None:
        """Record that no data or exists watch is stored on ``path`` any more, as of its tally
        counting ``registered`` watches; nothing if it counted another since. A storage without
        watch tallies has nothing to record."""
        return None

    @abstractmethod
    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        """The watches on ``path`` of ``kinds`` set before transaction ``txn`` (counter < txn)."""

    @abstractmethod
    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        """Delete fired watches, each only if its counter is unchanged (not set again since)."""

    @abstractmethod
    def remove_session_watches(self, session_id: str) -> None: ...

    @abstractmethod
    def count_watches(self) -> int: ...

    # -- items: the primitive of the core's sequenced log ----------------------------------

    def read_items(self, keys: Sequence[ItemKey]) -> list[Item | None]:
        """The items at ``keys`` in their order, None where there is none, in one request.

        Optional: only a provider whose queue numbers no messages, and which therefore keeps
        :mod:`faaskeeper.protocol.sequencer`'s log here, implements the items."""
        raise NotImplementedError(f"{type(self).__name__} keeps no items")

    def write_items(self, writes: Sequence[ItemWrite]) -> list[object] | None:
        """Apply ``writes`` atomically: all of them, or none when one's condition fails (a create
        of an item that exists, an update of one changed or deleted since its version). The new
        version of each write, in order; None (nothing written) if a condition failed."""
        raise NotImplementedError(f"{type(self).__name__} keeps no items")

    # -- sessions' liveness ---------------------------------------------------------------

    @abstractmethod
    def touch_session(self, session_id: str, silent_since: float) -> None:
        """Record when the session started missing heartbeats (0.0: it answers again)."""


class UserStorage(ABC):
    """What clients read directly: per node its data, stat and children.

    Written only by the distributor, in transaction order.
    """

    @abstractmethod
    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        """The node, or None if it does not exist. One request."""

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        return [self.read(p) for p in paths]

    @abstractmethod
    def write(self, node: Node) -> None:
        """Store the node with its data and footprint (create or set_data)."""

    @abstractmethod
    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        """Replace stat, children and footprint, keeping the data (a child added or removed)."""

    @abstractmethod
    def delete(self, path: str) -> None: ...
