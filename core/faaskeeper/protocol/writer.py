"""The writer function: lock, validate, push to the distributor, commit and unlock.

Triggered by the writer queue (FIFO per session). Each message is first admitted by its session
(:mod:`faaskeeper.protocol.sessions`, which also handles registration and the end of a session);
a write it hands back is executed here. Every step is safe to redo: a request the session already
finished is recognised by its sequence number, and a write whose writer died between push and
commit is finished by the distributor.

Every write is a transaction (:class:`~faaskeeper.protocol.messages.TxnOp`; a single create,
set_data or delete is a transaction of one). It is atomic because each step that decides it covers
all its nodes at once: the writer holds the lock of every node it changes or checks from
validation to commit, validates the operations in order against a draft of those nodes, pushes
one event with every node's new state, and commits it with one conditional write over all of them
(:meth:`~faaskeeper.api.storage.SystemStorage.commit`), which takes effect on every node or, if a
lock was lost, on none. The request is marked on the lowest common ancestor of the locked nodes,
which the transaction neither creates nor deletes (it locks the parent of each node it creates or
deletes, and a parent comes before its children in the lock order); the marks of the nodes it
deletes move there, to an ancestor of each, so a redelivery finds them as it finds a single
write's.
"""

from __future__ import annotations

import bisect
import functools
import logging
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

from faaskeeper import paths
from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.queue import Queue, QueueMessage
from faaskeeper.api.storage import (
    Commit,
    Lock,
    NodeState,
    NodeUpdate,
    RequestMark,
    SessionRecord,
    SystemNode,
    SystemStorage,
)
from faaskeeper.exceptions import (
    BadVersionError,
    FaaSKeeperException,
    MalformedInputException,
    NoChildrenForEphemeralsException,
    NodeDoesntExistException,
    NodeExistsException,
    NotEmptyException,
    ProviderException,
)
from faaskeeper.node import Stat
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import (
    DistributorEvent,
    EventKind,
    Op,
    OpResult,
    Reply,
    TxnOp,
    WriteRequest,
    locked_paths,
)
from faaskeeper.protocol.sessions import Sessions
from faaskeeper.protocol.settings import FunctionSettings

log = logging.getLogger("faaskeeper.writer")

DISTRIBUTOR_GROUP = "distributor"


class LockContention(Exception):
    """The locks of a write could not be taken in the allowed attempts; the message is retried."""


class DeliveryExpired(Exception):
    """This delivery of a message ran past its deadline: it is abandoned, unanswered, to the
    platform's redelivery (the batch reports it failed)."""


class _AlreadyCommitted(Exception):
    """A redelivered request whose write committed before: nothing to do, the distributor answers."""


class _Contended(Exception):
    """A node a write found it must lock is held by another writer: release and try again."""


class _OpFailed(Exception):
    """Operation ``index`` of the write failed validation with ``error``."""

    def __init__(self, index: int, error: FaaSKeeperException) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


#: The errors that are the outcome of an operation (the others are the request's).
OP_ERRORS = (
    NodeExistsException,
    NodeDoesntExistException,
    NotEmptyException,
    BadVersionError,
    NoChildrenForEphemeralsException,
)


class _Plan:
    """A validated write, holding its locks, ready to push and commit."""

    def __init__(
        self,
        lock: Lock,
        nodes: dict[str, SystemNode],
        updates: tuple[NodeUpdate, ...],
        results: tuple[OpResult, ...],
        data: tuple[tuple[str, bytes], ...],
        inherited: dict[str, RequestMark] | None = None,
    ) -> None:
        self.lock = lock
        self.locked = list(nodes)
        #: The node locked first, as it was: the one the request's mark is recorded on.
        self.recorded = next(iter(nodes.values()))
        self.updates = updates
        self.results = results
        self.data = data
        #: The marks deleted nodes hand to the node the request is recorded on.
        self.inherited = inherited or {}


class _Draft:
    """The nodes a write locks, as the operations validated so far leave them."""

    def __init__(self, nodes: dict[str, SystemNode], lock_more: Callable[[str], SystemNode]) -> None:
        self.nodes = nodes
        self._lock_more = lock_more
        self.states = {path: node.state for path, node in nodes.items()}
        self.created: set[str] = set()
        self.modified: set[str] = set()
        self.children_changed: set[str] = set()
        self.data: dict[str, bytes] = {}
        self.deleted: list[str] = []

    def state(self, path: str) -> NodeState:
        if path not in self.states:
            node = self._lock_more(path)
            self.nodes[path] = node
            self.states[path] = node.state

        return self.states[path]

    def update(self, path: str) -> NodeUpdate:
        return NodeUpdate(
            path,
            self.states[path],
            created=path in self.created,
            modified=path in self.modified,
            children_changed=path in self.children_changed,
        )


class Writer:
    def __init__(
        self,
        system: SystemStorage,
        distributor_queue: Queue,
        channel: ChannelSender,
        settings: FunctionSettings,
    ) -> None:
        self._system = system if settings.writer_storage is None else settings.writer_storage(system)
        self._queue = distributor_queue
        self._channel = channel
        self._settings = settings
        self._sessions = Sessions(
            system, settings, delete_ephemeral=self._delete_ephemeral, push=self._push, reply=self._reply
        )

    def handle(self, message: QueueMessage) -> None:
        """Process one writer-queue message. Raises MalformedMessage for messages to dead-letter,
        RetryLater for one to deliver again after a delay; any other exception means the message
        must be redelivered."""
        # The deployment's data limit is checked below, once the request is known to come from its
        # session, so that the session hears of it instead of waiting for a write never answered.
        request = WriteRequest.decode(message.body, sys.maxsize)
        limit = self._settings.max_commit_writes
        if request.op is Op.MULTI and limit is not None and len(request.ops) > limit:
            # A client checks the limit before it sends: this one was forged or is out of contract.
            raise MalformedMessage(f"a transaction of {len(request.ops)} operations exceeds the limit of {limit}")
        session = self._sessions.admit(request, message)
        if session is None:
            return
        if request.data_size > self._settings.max_data_size:
            limit = self._settings.max_data_size
            what = "A transaction's data" if request.op is Op.MULTI else "Node data"
            too_large = f"{what} of {request.data_size} bytes exceeds the deployment's limit of {limit} bytes"
            self._fail(request, session, message, MalformedInputException(too_large))
            return
        if request.op is Op.SYNC:
            self._sync(request, session)
            return
        try:
            self._execute(request, session, message, counts_for_session=True)
        except _AlreadyCommitted:
            log.info("request %d of session %s committed before; not applied again", request.seq, session.session_id)
        except _OpFailed as failed:
            self._fail(request, session, message, failed.error, index=failed.index)
        except MalformedInputException as err:
            self._fail(request, session, message, err)

    def _sync(self, request: WriteRequest, session: SessionRecord) -> None:
        """Pass a sync to the distributor behind every write pushed before it; it answers."""
        event = DistributorEvent(EventKind.SYNC, session.session_id, request.seq, session.channel, Op.SYNC)
        self._push(replace(event, path=request.path), f"{request.request_id}:sync")

    # -- answers --------------------------------------------------------------------------

    def _fail(
        self,
        request: WriteRequest,
        session: SessionRecord,
        delivery: QueueMessage,
        err: FaaSKeeperException,
        *,
        index: int | None = None,
    ) -> None:
        """Answer a request refused: with ``err``, and for a transaction whose op ``index`` failed
        with each op's outcome."""
        # A later delivery of this request reads the session before it is recorded here only if
        # this one ran past its deadline; it would then execute the request again.
        self._check_held(delivery)
        if request.op is Op.MULTI and index is not None:
            reply = Reply.transaction_failure(request.seq, len(request.ops), index, err)
        else:
            reply = Reply.failure(request.seq, err)
        if self._system.record_outcome(session.session_id, request.seq, reply.to_dict()):
            self._settings.fault("writer.failure.recorded")
            self._reply(session.channel, reply)

    def _reply(self, address: str, reply: Reply) -> None:
        try:
            self._channel.send(address, reply.encode())
        except ProviderException as err:
            log.warning("client at %s unreachable: %s", address, err)

    # -- writes ---------------------------------------------------------------------------

    def _check_held(self, delivery: QueueMessage) -> None:
        if not self._settings.holds(delivery):
            raise DeliveryExpired(
                f"message {delivery.message_id} is past its delivery's deadline; left to its redelivery"
            )

    def _push(self, event: DistributorEvent, deduplication_id: str) -> int:
        """Push an event to the distributor; its transaction id."""
        return self._queue.send(event.encode(), DISTRIBUTOR_GROUP, deduplication_id)

    def _delete_ephemeral(self, delete: WriteRequest, session: SessionRecord, delivery: QueueMessage) -> None:
        try:
            self._execute(delete, session, delivery, counts_for_session=False)
        except _OpFailed as failed:
            raise failed.error from None

    def _execute(
        self, request: WriteRequest, session: SessionRecord, delivery: QueueMessage, *, counts_for_session: bool
    ) -> None:
        settings = self._settings
        redelivered = delivery.receive_count != 1
        for _attempt in range(settings.commit_attempts):
            plan = self._plan(request, counts_for_session, redelivered=redelivered)
            settings.fault("writer.locked")
            if settings.clock() - plan.lock.timestamp > settings.lock_max_hold / 2:
                # Too close to expiry: another writer may take the lock before our commit.
                self._unlock(plan)
                continue
            event = DistributorEvent(
                kind=EventKind.COMMIT,
                session_id=session.session_id,
                seq=request.seq,
                reply_to=session.channel,
                op=request.op,
                lock_token=plan.lock.token,
                updates=plan.updates,
                data=plan.data,
                results=plan.results,
                counts_for_session=counts_for_session,
                inherited=plan.inherited,
            )
            txn = self._push(event, f"{request.request_id}:{plan.lock.token}")
            settings.fault("writer.pushed")
            commit = commit_of(
                event, txn, settings, request_seq=request.seq if counts_for_session else None, recorded=plan.recorded
            )
            if not settings.holds(delivery):
                # Another delivery of this request may have begun with the session as it was
                # before ours is answered; it finds our commit's mark, never our failure record.
                self._unlock(plan)
                self._check_held(delivery)
            if self._system.commit(commit):
                settings.fault("writer.committed")
                return
            if self._finished_elsewhere(request, plan, counts_for_session):
                return
            log.warning("lost the lock of %s before commit; retrying", request.path)
        raise LockContention(f"could not commit {request.op} {request.path}")

    def _finished_elsewhere(self, request: WriteRequest, plan: _Plan, counts_for_session: bool) -> bool:
        """Whether the distributor committed this write on our behalf."""
        if counts_for_session:
            path = plan.updates[-1].path
            recorded = self._system.read_node(path)
            if recorded is not None and recorded.committed(request.session_id, request.seq):
                return True
            return self._marked_above(path, request)
        # Only session-close deletes of ephemeral nodes do not count for the session.
        node = self._system.read_node(plan.updates[0].path)
        return node is None or not node.exists

    def _plan(self, request: WriteRequest, counts_for_session: bool, *, redelivered: bool) -> _Plan:
        """Lock the write's nodes and validate its operations in order, each against the state
        the ones before it leave.

        The nodes every op names, the parents of creates and deletes and their lowest common
        ancestor are locked first, in :func:`~faaskeeper.paths.lock_order` (parents before
        children: the ancestor, on which the request's mark is kept, first); a sequential
        create's node, named by its parent's counter as the ops before it leave it, when it is
        reached. A node held by another writer releases every lock and the write starts again
        after a backoff, so no two writers wait for each other.

        Raises :class:`_AlreadyCommitted` for a redelivered request whose write committed: it is
        recognised before validation, which would now answer it wrongly (a create that exists).
        A first delivery cannot have committed; a later one may have been recorded on a node
        deleted since, whose marks went to its parent. Raises :class:`_OpFailed` for an op that
        fails validation, with every lock released."""
        settings = self._settings
        ops = request.txn_ops
        first = locked_paths(ops)
        token = uuid.uuid4().hex
        for attempt in range(settings.lock_attempts):
            lock = Lock(token, settings.clock())
            nodes = self._lock_all(first, lock)
            if nodes is None:
                time.sleep(settings.backoff(attempt))
                continue
            record = first[0]
            try:
                if counts_for_session and (
                    nodes[record].committed(request.session_id, request.seq)
                    or (redelivered and self._marked_above(record, request))
                ):
                    raise _AlreadyCommitted
                # The draft adds the nodes it locks as it goes to ``nodes``: they are released too.
                draft = _Draft(nodes, functools.partial(self._lock_more, lock=lock))
                return self._validate(ops, lock, draft, request.session_id)
            except _Contended:
                self._release(lock, nodes)
                time.sleep(settings.backoff(attempt))
            except (_OpFailed, _AlreadyCommitted, FaaSKeeperException):
                self._release(lock, nodes)
                raise
        attempts = settings.lock_attempts
        raise LockContention(f"nodes of {request.op} {request.path} stayed locked for {attempts} attempts")

    def _marked_above(self, path: str, request: WriteRequest) -> bool:
        """Whether an ancestor of ``path`` holds a mark of the request (or of a later one of its
        session: requests of a session are done in order). Marks only move up, each move atomic,
        so reading from the parent upwards cannot miss one."""
        while path != "/":
            path = paths.parent(path)
            node = self._system.read_node(path)
            if node is not None and node.committed(request.session_id, request.seq):
                return True
        return False

    def _validate(self, ops: tuple[TxnOp, ...], lock: Lock, draft: _Draft, session_id: str) -> _Plan:
        results = []
        for index, op in enumerate(ops):
            try:
                results.append(self._apply_op(op, draft, session_id))
            except OP_ERRORS as err:
                raise _OpFailed(index, err) from None
        updates = tuple(draft.update(path) for path in reversed(draft.nodes))
        limit = self._settings.max_commit_writes
        if limit is not None and commit_writes(updates) > limit:
            writes = commit_writes(updates)
            raise MalformedInputException(
                f"The transaction's commit writes {writes} items, over the provider's limit of {limit}"
            )
        cutoff = self._settings.clock() - self._settings.redelivery_window
        record = next(iter(draft.nodes.values()))
        inherited: dict[str, RequestMark] = {}
        for path in draft.deleted:
            for sid, mark in draft.nodes[path].requests.items():
                if mark.timestamp >= cutoff:
                    inherited[sid] = mark.later(inherited.get(sid) or record.requests.get(sid))
        data = tuple((path, draft.data[path]) for path in draft.nodes if path in draft.data)
        return _Plan(lock, draft.nodes, updates, tuple(results), data, inherited)

    def _apply_op(self, op: TxnOp, draft: _Draft, session_id: str) -> OpResult:
        """Validate ``op`` against the draft and apply it there; its result."""
        now = int(self._settings.clock() * 1000)
        if op.op is Op.CREATE:
            if op.path == paths.ROOT:
                raise NodeExistsException(op.path)
            parent_path = paths.parent(op.path)
            parent = draft.state(parent_path)
            if not parent.exists:
                raise NodeDoesntExistException(parent_path)
            if parent.stat.ephemeral_owner is not None:
                raise NoChildrenForEphemeralsException(parent_path)
            path = paths.sequential(op.path, parent.stat.cversion) if op.sequential else op.path
            if draft.state(path).exists:
                raise NodeExistsException(path)
            owner = session_id if op.ephemeral else None
            stat = Stat(ctime=now, mtime=now, ephemeral_owner=owner, data_length=len(op.data))
            draft.states[path] = NodeState(True, stat, ())
            draft.created.add(path)
            draft.data[path] = op.data
            self._child_changed(draft, parent_path, add=paths.name(path))
            return OpResult(Op.CREATE, path, stat, created=True)
        state = draft.state(op.path)
        if not state.exists:
            raise NodeDoesntExistException(op.path)
        stat = state.stat
        if op.version != -1 and op.version != stat.version:
            raise BadVersionError(op.version, op.path)
        if op.op is Op.CHECK:
            return OpResult(Op.CHECK, op.path)
        if op.op is Op.SET_DATA:
            new = stat.updated(version=stat.version + 1, mtime=now, data_length=len(op.data))
            draft.states[op.path] = NodeState(True, new, state.children)
            draft.modified.add(op.path)
            draft.data[op.path] = op.data
            return OpResult(
                Op.SET_DATA,
                op.path,
                new,
                created=op.path in draft.created,
                children_changed=op.path in draft.children_changed,
            )
        if state.children:
            raise NotEmptyException(op.path)
        draft.states[op.path] = NodeState(False, stat, ())
        draft.created.discard(op.path)
        draft.modified.add(op.path)
        draft.data.pop(op.path, None)
        draft.deleted.append(op.path)
        self._child_changed(draft, paths.parent(op.path), remove=paths.name(op.path))
        return OpResult(Op.DELETE, op.path)

    @staticmethod
    def _child_changed(draft: _Draft, parent_path: str, *, add: str | None = None, remove: str | None = None) -> None:
        parent = draft.states[parent_path]
        children = [c for c in parent.children if c != remove]
        if add is not None:
            bisect.insort(children, add)
        stat = parent.stat.updated(cversion=parent.stat.cversion + 1, num_children=len(children))
        draft.states[parent_path] = NodeState(True, stat, tuple(children))
        draft.children_changed.add(parent_path)

    # -- locks ----------------------------------------------------------------------------

    def _lock_all(self, ordered: list[str], lock: Lock) -> dict[str, SystemNode] | None:
        """Lock every node of ``ordered`` in that order; None (and none held) if another writer
        holds one."""
        nodes: dict[str, SystemNode] = {}
        for path in ordered:
            node = self._system.lock_node(path, lock, self._settings.lock_expiry)
            if node is None:
                self._release(lock, nodes)
                return None
            nodes[path] = node
            if len(nodes) == 1:
                self._settings.fault("writer.locked.first")
        return nodes

    def _lock_more(self, path: str, lock: Lock) -> SystemNode:
        node = self._system.lock_node(path, lock, self._settings.lock_expiry)
        if node is None:
            raise _Contended(path)
        return node

    def _release(self, lock: Lock, nodes: dict[str, SystemNode]) -> None:
        for path in reversed(list(nodes)):
            self._system.unlock_node(path, lock)

    def _unlock(self, plan: _Plan) -> None:
        for path in reversed(plan.locked):
            self._system.unlock_node(path, plan.lock)


def commit_writes(updates: tuple[NodeUpdate, ...]) -> int:
    """The items a commit of ``updates`` writes, as the provider contract counts them against
    :meth:`~faaskeeper.api.provider.Provider.max_commit_writes`: one per node, and one per session
    whose ephemeral nodes it creates or deletes (the index of each owner's nodes)."""
    owners = {
        u.state.stat.ephemeral_owner
        for u in updates
        if u.state.stat.ephemeral_owner is not None and (u.created or not u.state.exists)
    }
    return len(updates) + len(owners)


def commit_of(
    event: DistributorEvent,
    txn: int,
    settings: FunctionSettings,
    *,
    request_seq: int | None,
    recorded: SystemNode | None = None,
) -> Commit:
    """The commit of a pushed write: the same conditional write whether its writer or the
    distributor (finishing for a writer that died) runs it. ``recorded``, the node the request's
    mark goes on as its lock returned it, names the marks old enough to forget."""
    now = settings.clock()
    cutoff = now - settings.redelivery_window
    old = recorded.requests.items() if recorded is not None else ()
    kept = {event.session_id, *event.inherited}
    return Commit(
        txn=txn,
        lock_token=event.lock_token,
        updates=event.updates,
        session_id=event.session_id,
        request_seq=request_seq,
        timestamp=now,
        forget=tuple(sorted(sid for sid, mark in old if mark.timestamp < cutoff and sid not in kept)),
        inherited=event.inherited,
    )
