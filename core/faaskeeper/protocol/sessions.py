"""Sessions at the writer: registration, which session a request is taken under, and the end of
a session by close, expiry or sweep.

Every writer-queue message passes :meth:`Sessions.admit` first. It handles the session's own
messages (registration, close, expiry, sweep) and refuses or answers the requests that must not
be executed (of a session unknown or ended, with a wrong token, done before); a write is handed
back with the session it is taken under, read from storage or, on a first delivery carrying a
valid lease, as the lease shows it (see :mod:`faaskeeper.protocol.leases`).

A session ends once: it takes no more requests, its ephemeral nodes are deleted through the
normal write path, its watches are dropped, and its answer goes through the distributor after
every write the session pushed before. The end waits for every lease of the session to run out,
so that no write is taken on a lease after it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from faaskeeper.api.queue import QueueMessage
from faaskeeper.api.storage import SessionRecord, SessionStatus, SystemStorage
from faaskeeper.exceptions import NodeDoesntExistException, SessionExpiredException
from faaskeeper.protocol import leases
from faaskeeper.protocol.batch import RetryLater
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import (
    REQUESTS,
    DistributorEvent,
    EventKind,
    Op,
    Reply,
    WriteRequest,
    expiry_proof,
    sweep_proof,
    token_digest,
)
from faaskeeper.protocol.settings import FunctionSettings

log = logging.getLogger("faaskeeper.writer")

#: Delete one ephemeral node of an ending session through the write path (the deletion does not
#: count as a request of the session); NodeDoesntExistException if it is gone already.
DeleteEphemeral = Callable[[WriteRequest, SessionRecord, QueueMessage], None]
#: Push an event to the distributor queue with a deduplication id.
PushToDistributor = Callable[[DistributorEvent, str], int]
#: Send a reply to a client's address.
SendReply = Callable[[str, Reply], None]


class LeasesOutstanding(RetryLater):
    """An expiry reached the writer before it is due (the session's silence allowed, every lease
    of it ended); the message is delivered again when it is."""


@dataclass(frozen=True)
class _Ending:
    """How a session ends: the request that ends it (its op and seq), where its answer goes,
    and the id its answer is pushed to the distributor with."""

    op: Op
    seq: int
    reply_to: str
    barrier_id: str


class Sessions:
    """The writer's side of sessions, over system storage; the write path is reached through the
    three callables the writer gives."""

    def __init__(
        self,
        system: SystemStorage,
        settings: FunctionSettings,
        *,
        delete_ephemeral: DeleteEphemeral,
        push: PushToDistributor,
        reply: SendReply,
    ) -> None:
        self._system = system
        self._settings = settings
        self._delete_ephemeral = delete_ephemeral
        self._push = push
        self._reply = reply

    def admit(self, request: WriteRequest, delivery: QueueMessage) -> SessionRecord | None:
        """The session a write request is executed under; None where the message is handled here
        (a session's registration, close, expiry or sweep; a request refused or answered again).
        Raises MalformedMessage for a message that claims a session it cannot prove, RetryLater
        for one to deliver again once the session's leases have run out."""
        if request.op is Op.REGISTER_SESSION:
            self._register(request)
            return None
        if request.op is Op.SWEEP_SESSION:
            self._sweep(request, delivery)
            return None
        session = self._leased(request, delivery) or self._system.read_session(request.session_id)
        if session is None:
            self._unknown_session(request)
            return None
        if request.op is Op.EXPIRE_SESSION:
            if request.token != expiry_proof(session.token_digest, session.session_id):
                raise MalformedMessage(f"expiry of session {request.session_id} with a wrong proof")
            self._expire(request, session, delivery)
            return None
        if session.token_digest != token_digest(request.token):
            raise MalformedMessage(f"request claims session {request.session_id} with a wrong token")
        if request.seq <= session.last_seq:
            self._resend_outcome(request, session)
            return None
        if request.op is Op.DEREGISTER_SESSION:
            ending = _Ending(request.op, request.seq, session.channel, f"{request.request_id}:{request.op}")
            self._end(session, ending, delivery, hold=True)
            return None
        if not session.active:
            self._unknown_session(request)
            return None
        return session

    def _leased(self, request: WriteRequest, delivery: QueueMessage) -> SessionRecord | None:
        """The session as its lease shows it, for the first delivery of a write carrying a valid
        lease; None where the session must be read."""
        key = self._settings.lease_key
        if key is None or request.lease is None or request.op not in REQUESTS or delivery.receive_count != 1:
            return None
        digest = token_digest(request.token)
        now = self._settings.clock()
        if not leases.holds(key, request.lease, request.session_id, digest, request.reply_to, now):
            return None
        return SessionRecord(session_id=request.session_id, channel=request.reply_to, token_digest=digest)

    def _register(self, request: WriteRequest) -> None:
        now = self._settings.clock()
        record = SessionRecord(
            session_id=request.session_id,
            channel=request.channel,
            token_digest=token_digest(request.token),
            heartbeat=request.heartbeat,
            created=now,
            last_seq=request.seq,
        )
        if not self._system.create_session(record):
            existing = self._system.read_session(request.session_id)
            if existing is None or existing.token_digest != record.token_digest:
                raise MalformedMessage(f"session id {request.session_id} is already registered")
            if not existing.active:
                log.info("registration of session %s delivered again after it ended; dropped", request.session_id)
                return
        self._settings.fault("writer.session.created")
        settings = self._settings
        lease = leases.issue(
            settings.lease_key, settings.lease_duration, record.session_id, record.token_digest, record.channel, now
        )
        self._reply(request.channel, replace(Reply.success(request.seq), lease=lease))

    def _expire(self, request: WriteRequest, session: SessionRecord, delivery: QueueMessage) -> None:
        """The heartbeat's expiry of a silent session. It waits until it is due: the session's
        allowed silence is over and every lease it was given has run out. One whose session
        answered a ping again since the heartbeat decided on it is dropped: the session lives."""
        if session.active:
            if session.silent_since == 0.0:
                log.info("session %s answers again; its expiry is dropped", session.session_id)
                return
            due = self._settings.expiry_due(session.silent_since)
            now = self._settings.clock()
            if now < due:
                raise LeasesOutstanding(f"session {session.session_id} expires at {due:.3f}", due - now)
            # No lease was issued after the session fell silent: it ended then, as far as leases go.
            ended_at = session.silent_since
        else:
            ended_at = session.ended_at
        ending = _Ending(Op.EXPIRE_SESSION, request.seq, session.channel, f"{request.request_id}:{request.op}")
        self._end(session, ending, delivery, hold=False, ended_at=ended_at)
        log.info("session %s expired", session.session_id)

    def _sweep(self, request: WriteRequest, delivery: QueueMessage) -> None:
        """Finish the end of a session whose ephemeral nodes were committed after its end listed
        them (their writer died after pushing them): the distributor found them when the end's
        answer reached it, and sent this instead of the answer."""
        session = self._system.read_session(request.session_id)
        if session is None:
            return
        if request.token != sweep_proof(session.token_digest, session.session_id) or request.ends is None:
            raise MalformedMessage(f"sweep of session {request.session_id} with a wrong proof")
        if session.active:
            raise MalformedMessage(f"sweep of session {request.session_id}, which has not ended")
        ending = _Ending(
            request.ends, request.seq, request.reply_to, f"{request.session_id}:sweep:{delivery.message_id}"
        )
        self._end(session, ending, delivery, hold=False, ended_at=session.ended_at)

    def _end(
        self,
        session: SessionRecord,
        ending: _Ending,
        delivery: QueueMessage,
        *,
        hold: bool,
        ended_at: float | None = None,
    ) -> None:
        """End a session (closed, expired or swept): it takes no more requests, its ephemeral
        nodes are deleted through the normal write path (so their watches fire), its watches are
        dropped, and its answer is sent through the distributor, after every write the session
        pushed before. Safe to redo.

        The record stays until the distributor has passed the answer, every lease given to the
        session has run out and no request of the session can be delivered again. A close
        (``hold``) is not finished before its leases have run out: it holds up its group, so a
        request of the session behind it, lease and all, is taken only then, reads the record,
        and is refused."""
        settings = self._settings
        if session.status == SessionStatus.DRAINED:
            if hold:
                self._hold(session)
            self._forget(session)
            return
        ended = self._system.end_session(session.session_id, settings.clock() if ended_at is None else ended_at)
        if ended is None:
            return
        for path in self._system.ephemeral_nodes(session.session_id):
            delete = WriteRequest(Op.DELETE, session.session_id, "", ending.seq, path=path)
            with contextlib.suppress(NodeDoesntExistException):
                self._delete_ephemeral(delete, session, delivery)
        settings.fault("writer.close.ephemerals")
        self._system.remove_session_watches(session.session_id)
        settings.fault("writer.close.ended")
        barrier = DistributorEvent(
            kind=EventKind.BARRIER,
            session_id=session.session_id,
            seq=ending.seq,
            reply_to=ending.reply_to,
            op=ending.op,
        )
        # One answer per end: a session revived by a registration delivered again after its end
        # (and so ended anew) is answered anew, not taken for the first end's answer.
        self._push(barrier, f"{ending.barrier_id}:{ended.ended_at!r}")
        if hold:
            self._hold(ended)

    def _hold(self, ended: SessionRecord) -> None:
        """Deliver the close again once every lease of its session has run out (RetryLater)."""
        until = self._settings.leases_end(ended.ended_at)
        now = self._settings.clock()
        if now < until:
            raise RetryLater(f"session {ended.session_id} closed; its leases may last until {until:.3f}", until - now)

    def _forget(self, session: SessionRecord) -> None:
        """Delete a drained session's record once it may go (else the heartbeat does, later)."""
        if self._settings.clock() >= self._settings.ended_record_kept_until(session):
            self._system.delete_session(session.session_id)

    def _unknown_session(self, request: WriteRequest) -> None:
        """A request of a session that expired or never existed: tell its client, apply nothing."""
        log.info("refusing %s of unknown or expired session %s", request.op, request.session_id)
        if request.reply_to and request.op is not Op.EXPIRE_SESSION:
            reply = Reply.failure(request.seq, SessionExpiredException())
            if request.op is Op.DEREGISTER_SESSION:
                reply = Reply.success(request.seq)
            self._reply(request.reply_to, reply)

    def _resend_outcome(self, request: WriteRequest, session: SessionRecord) -> None:
        """Answer a request the session did before again, with its recorded outcome."""
        outcome = session.last_outcome
        if outcome is not None and outcome.get("seq") == request.seq:
            self._reply(session.channel, Reply.from_dict(outcome))
