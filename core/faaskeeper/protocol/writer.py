"""The writer function: lock, validate, push to the distributor, commit and unlock.

Triggered by the writer queue (FIFO per session). Each message is first admitted by its session
(:mod:`faaskeeper.protocol.sessions`, which also handles registration and the end of a session);
a write it hands back is executed here. Every step is safe to redo: a request the session already
finished is recognised by its sequence number, and a write whose writer died between push and
commit is finished by the distributor.
"""

from __future__ import annotations

import bisect
import logging
import sys
import time
import uuid
from collections.abc import Callable

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
from faaskeeper.protocol.messages import DistributorEvent, EventKind, Op, Reply, WriteRequest
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


class _Plan:
    """A validated write, holding its locks, ready to push and commit."""

    def __init__(
        self,
        lock: Lock,
        nodes: dict[str, SystemNode],
        updates: tuple[NodeUpdate, ...],
        result_path: str,
        inherited: dict[str, RequestMark] | None = None,
    ) -> None:
        self.lock = lock
        self.locked = list(nodes)
        #: The node locked first, as it was: the one the request's mark is recorded on.
        self.recorded = next(iter(nodes.values()))
        self.updates = updates
        self.result_path = result_path
        #: The marks a deleted node hands to the node the request is recorded on.
        self.inherited = inherited or {}


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
        session = self._sessions.admit(request, message)
        if session is None:
            return
        if len(request.data) > self._settings.max_data_size:
            limit = self._settings.max_data_size
            too_large = f"Node data of {len(request.data)} bytes exceeds the deployment's limit of {limit} bytes"
            self._fail(request, session, message, MalformedInputException(too_large))
            return
        try:
            self._execute(request, session, message, counts_for_session=True)
        except _AlreadyCommitted:
            log.info("request %d of session %s committed before; not applied again", request.seq, session.session_id)
        except (
            NodeExistsException,
            NodeDoesntExistException,
            NotEmptyException,
            BadVersionError,
            NoChildrenForEphemeralsException,
        ) as err:
            self._fail(request, session, message, err)

    # -- answers --------------------------------------------------------------------------

    def _fail(
        self, request: WriteRequest, session: SessionRecord, delivery: QueueMessage, err: FaaSKeeperException
    ) -> None:
        # A later delivery of this request reads the session before it is recorded here only if
        # this one ran past its deadline; it would then execute the request again.
        self._check_held(delivery)
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
        self._execute(delete, session, delivery, counts_for_session=False)

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
                data_path=plan.result_path if request.op in (Op.CREATE, Op.SET_DATA) else None,
                data=request.data,
                result_path=plan.result_path,
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
        """Lock the write's nodes (the one its session's mark is kept on first) and validate it.

        Raises :class:`_AlreadyCommitted` for a redelivered request whose write committed: it is
        recognised before validation, which would now answer it wrongly (a create that exists).
        A first delivery cannot have committed; a later one may have been recorded on a node
        deleted since, whose marks went to its parent."""
        token = uuid.uuid4().hex
        if request.op is Op.SET_DATA:
            first, second, validate = request.path, None, self._plan_set_data
        else:
            first = paths.parent(request.path)
            second = (
                (lambda parent: self._created_path(request, parent))
                if request.op is Op.CREATE
                else (lambda _parent: request.path)
            )
            validate = self._plan_create if request.op is Op.CREATE else self._plan_delete
        lock, nodes = self._acquire(token, first, second)
        try:
            if counts_for_session and (
                nodes[first].committed(request.session_id, request.seq)
                or (redelivered and self._marked_above(first, request))
            ):
                raise _AlreadyCommitted
            return validate(request, lock, nodes)
        except (FaaSKeeperException, _AlreadyCommitted):
            self._release(lock, nodes)
            raise

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

    @staticmethod
    def _created_path(request: WriteRequest, parent: SystemNode) -> str | None:
        if not parent.exists:
            return None
        if request.sequential:
            return paths.sequential(request.path, parent.state.stat.cversion)
        return request.path

    def _plan_create(self, request: WriteRequest, lock: Lock, nodes: dict[str, SystemNode]) -> _Plan:
        parent_path = paths.parent(request.path)
        parent = nodes[parent_path]
        if not parent.exists:
            raise NodeDoesntExistException(parent_path)
        if parent.state.stat.ephemeral_owner is not None:
            raise NoChildrenForEphemeralsException(parent_path)
        path = next(p for p in nodes if p != parent_path)
        if nodes[path].exists:
            raise NodeExistsException(path)
        now = int(self._settings.clock() * 1000)
        owner = request.session_id if request.ephemeral else None
        stat = Stat(ctime=now, mtime=now, ephemeral_owner=owner, data_length=len(request.data))
        children = list(parent.state.children)
        bisect.insort(children, paths.name(path))
        parent_stat = parent.state.stat.updated(cversion=parent.state.stat.cversion + 1, num_children=len(children))
        updates = (
            NodeUpdate(path, NodeState(True, stat, ()), created=True),
            NodeUpdate(parent_path, NodeState(True, parent_stat, tuple(children)), children_changed=True),
        )
        return _Plan(lock, nodes, updates, path)

    def _plan_set_data(self, request: WriteRequest, lock: Lock, nodes: dict[str, SystemNode]) -> _Plan:
        node = nodes[request.path]
        if not node.exists:
            raise NodeDoesntExistException(request.path)
        stat = node.state.stat
        if request.version != -1 and request.version != stat.version:
            raise BadVersionError(request.version, request.path)
        now = int(self._settings.clock() * 1000)
        new = stat.updated(version=stat.version + 1, mtime=now, data_length=len(request.data))
        updates = (NodeUpdate(request.path, NodeState(True, new, node.state.children), modified=True),)
        return _Plan(lock, nodes, updates, request.path)

    def _plan_delete(self, request: WriteRequest, lock: Lock, nodes: dict[str, SystemNode]) -> _Plan:
        parent_path = paths.parent(request.path)
        node = nodes.get(request.path)
        if node is None or not node.exists:
            raise NodeDoesntExistException(request.path)
        stat = node.state.stat
        if request.version != -1 and request.version != stat.version:
            raise BadVersionError(request.version, request.path)
        if node.state.children:
            raise NotEmptyException(request.path)
        parent = nodes[parent_path]
        children = [c for c in parent.state.children if c != paths.name(request.path)]
        parent_stat = parent.state.stat.updated(cversion=parent.state.stat.cversion + 1, num_children=len(children))
        updates = (
            NodeUpdate(request.path, NodeState(False, stat, ()), modified=True),
            NodeUpdate(parent_path, NodeState(True, parent_stat, tuple(children)), children_changed=True),
        )
        cutoff = self._settings.clock() - self._settings.redelivery_window
        inherited = {
            sid: mark.later(parent.requests.get(sid)) for sid, mark in node.requests.items() if mark.timestamp >= cutoff
        }
        return _Plan(lock, nodes, updates, request.path, inherited)

    # -- locks ----------------------------------------------------------------------------

    def _acquire(
        self, token: str, first: str, second: Callable[[SystemNode], str | None] | None
    ) -> tuple[Lock, dict[str, SystemNode]]:
        """Lock ``first``, then the node ``second`` names from it (parents before children).

        Retries with backoff while another writer holds either lock; every retry uses a fresh
        timestamp so the hold time counts from the last attempt."""
        settings = self._settings
        for attempt in range(settings.lock_attempts):
            lock = Lock(token, settings.clock())
            nodes: dict[str, SystemNode] = {}
            head = self._system.lock_node(first, lock, settings.lock_expiry)
            if head is not None:
                nodes[first] = head
                settings.fault("writer.locked.first")
                path = second(head) if second is not None else None
                if path is None:
                    return lock, nodes
                tail = self._system.lock_node(path, lock, settings.lock_expiry)
                if tail is not None:
                    nodes[path] = tail
                    return lock, nodes
                self._system.unlock_node(first, lock)
            time.sleep(settings.backoff(attempt))
        raise LockContention(f"node {first} stayed locked for {settings.lock_attempts} attempts")

    def _release(self, lock: Lock, nodes: dict[str, SystemNode]) -> None:
        for path in reversed(list(nodes)):
            self._system.unlock_node(path, lock)

    def _unlock(self, plan: _Plan) -> None:
        for path in reversed(plan.locked):
            self._system.unlock_node(path, plan.lock)


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
