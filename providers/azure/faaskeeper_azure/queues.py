"""The writer and distributor queues on Azure Storage Queues, which are not FIFO and deliver at
least once; and the order the writer nevertheless keeps within each session.

Every message body is text, base64-encoded on the wire (``TextBase64EncodePolicy``), as the
Functions host's queue trigger expects. A message that must never be applied goes, with the
reason, to ``<queue>-poison``, the queue where the Functions host moves a message it failed to
process ``MAX_DEQUEUE`` times.

**The distributor queue** is the core's log sequencer
(:class:`~faaskeeper.protocol.sequencer.SequencedQueue`; its docstring argues linearizability
and redelivery): transaction ids are allocated in system storage, and a Storage Queue message
(:class:`Doorbells`, ``{"upto": id}``) only tells the distributor function to drain the log up to
an id. Doorbells may arrive in any order, twice, or never (the heartbeat rings for a log left
behind).

**The writer queue** carries each request in an envelope (:class:`Envelope`: the group, the
sender's deduplication id, the body, and ``prev``, the sequence number of the request its sender
last sent in the group; a body too large for a message is stored as a blob of the deployment's
payload container, :class:`Payloads`, and the envelope names it). Storage Queues keep no order,
so the order within a session comes from the requests' own sequence numbers, which the client
allocates increasing per session and sends one after the other (the registration is 1, its
``prev`` 0; the close is last). :class:`SessionTurns` keeps each session's turn as an item of
system storage: ``done``, the highest sequence number the writer finished; ``claim``, the request
being handed to the writer now, until its delivery's deadline; and the requests ``skipped``.
:meth:`OrderedWriter.process` takes a request only on its turn:

* ``done >= prev`` and no live claim (its turn): it claims the session (a conditional write) and
  goes to the core writer; once the writer returned, ``done`` becomes ``seq`` and the claim is
  cleared in one conditional write (``done`` never moves backwards), and any number between
  ``prev`` and ``seq`` is recorded as skipped: a request whose send its client saw fail, sent on
  without it. A request that failed gives its claim up and is delivered again; one that failed
  on its ``MAX_DEQUEUE``-th delivery is dead-lettered with the error, and ``done`` moves past it.
* ``seq <= done`` (finished before: a redelivery, or the sender's duplicate): handed to the
  writer, which recognises it (the session's ``last_seq``, or the request's mark on the node it
  wrote, or a later one's) and only answers it again. One that was skipped is dead-lettered: it
  must not take effect after requests its client sent later.
* ``done < prev``, or a live claim (early): it waits for its turn, first in the function for a
  moment (its predecessor is most likely being handled right now), then by being sent again,
  hidden for a second, and acknowledged; the copy carries when it first waited. A request of a
  session that has ended does not wait: the writer refuses it (one of a session not registered
  yet waits for its registration). One that waited ``wait_limit`` seconds (its predecessor never
  came) is dead-lettered.
* The heartbeat's expiry and the distributor's sweep of a session (sequence number 0) are not
  requests of the session and wait for nothing; once the session has ended (closed, expired,
  swept), its turn is forgotten: a request of it delivered later does not wait, and is refused.

Why this is per-session FIFO: take the requests a client sent, in its order. ``done`` reaches
``n`` only after the writer finished request ``n``, and the request sent after ``n`` is taken
only once ``done >= n``; by induction every request is taken only after every request sent
before it finished or was given up, whatever order the queue delivers them in, however often.
The claim lets one copy of a request run at a time, as a FIFO queue keeps one message of a group
in flight: a second copy, delivered while the first runs, waits and then finds it finished. So
the core writer sees each session's requests as a FIFO queue would hand them over. A request that
failed leaves ``done`` behind, so it runs again before any later request of its session; after
``MAX_DEQUEUE`` failed deliveries it is dead-lettered and its session goes on, as a FIFO queue's
group goes on past a dead-lettered message. (One whose instances died ``MAX_DEQUEUE`` times is
moved to the poison queue by the Functions host without a word to the writer: the requests behind
it then wait out ``wait_limit`` and follow it there.) A dead-lettered (malformed or forged)
message never moves ``done``: a forger who knows a session id cannot skip its requests. A claim
lasts at most until its delivery's deadline, after which the core writer itself expects another
delivery (an instance that died holding it delays its session until then, never forever).

Why writes stay linearizable: the writer pushes request ``n``'s write to the distributor log
(allocating its transaction id) before it returns, so the session's next request's write gets a
larger id, and the distributor applies ids in order (see the sequencer). Across sessions nothing
changes: the core's locks and the log order them. A request its client saw fail to send either
ran before the client's next request (its send had reached the queue after all) or is skipped:
it never takes effect after a later request of its session.

Redelivery: because a copy sent again starts over at a dequeue count of 1, and a sender's
duplicate is a message of its own, the writer is told that any delivery may be a redelivery
(``receive_count`` 0, as Pub/Sub deliveries are): it then reads the session instead of trusting
the request's lease.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from faaskeeper.api.queue import Queue, QueueMessage
from faaskeeper.api.storage import CreateItem, DeleteItem, ItemKey, SessionRecord, SystemStorage, UpdateItem
from faaskeeper.exceptions import ProviderException
from faaskeeper.metering import Meter
from faaskeeper.protocol.batch import RetryLater
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import SESSION_ENDS, Op, WriteRequest
from faaskeeper_azure.cost.metering import METER, storage_response_hook
from faaskeeper_azure.errors import Refused, azure_errors, is_missing

log = logging.getLogger("faaskeeper.azure.queues")

#: The Functions host moves a message to ``<queue>-poison`` once it was dequeued this often.
MAX_DEQUEUE = 5
#: A Storage Queue message may hold 64 KiB of (base64) text.
MAX_MESSAGE_TEXT = 64 * 1024
#: Seconds an early request waits in the function for its turn before it is sent again.
PATIENCE = 1.0
#: Seconds a request sent again to wait for its turn stays hidden (visibility is whole seconds).
REQUEUE_DELAY = 1
#: The requests of a session that are not the session's own (they carry sequence number 0).
_UNORDERED = frozenset({Op.EXPIRE_SESSION, Op.SWEEP_SESSION})
#: The requests after which a session may have ended, or may not have begun.
_SESSION_CHANGES = SESSION_ENDS | _UNORDERED | {Op.REGISTER_SESSION}


class StorageQueues:
    """Clients of one storage account's queues, by name, sending and receiving base64 text; their
    requests counted in ``meter`` (by default the provider's :data:`~faaskeeper_azure.cost.metering.METER`)."""

    def __init__(self, connection_string: str, *, credential: Any = None, meter: Meter = METER) -> None:
        self._connection_string = connection_string
        #: Where the connection string names only endpoints: the identity's credential.
        self._credential = credential
        self._meter = meter
        self._clients: dict[str, QueueClient] = {}

    def client(self, name: str) -> QueueClient:
        client = self._clients.get(name)
        if client is None:
            with azure_errors(f"open queue {name}"):
                client = QueueClient.from_connection_string(
                    self._connection_string,
                    name,
                    credential=self._credential,
                    message_encode_policy=TextBase64EncodePolicy(),
                    message_decode_policy=TextBase64DecodePolicy(),
                    raw_response_hook=storage_response_hook("queue", self._meter),
                )
            self._clients[name] = client
        return client

    def send(self, name: str, text: str, delay: int = 0) -> str:
        """Enqueue ``text``, hidden for ``delay`` seconds; the message id."""
        if not fits(text):
            raise ProviderException(
                f"a message of {len(text)} characters does not fit a Storage Queue message (64 KiB of base64)"
            )
        with azure_errors(f"send to queue {name}"):
            sent = self.client(name).send_message(text, visibility_timeout=delay or None)
        return str(sent.id)

    def dead_letter(self, name: str, text: str, reason: str) -> None:
        """Keep a message of queue ``name`` that must never be applied in ``<name>-poison``, with why."""
        log.error("dead-lettering a message of %s: %s", name, reason)
        self.send(poison_queue(name), json.dumps({"reason": reason or "-", "source": name, "message": text}))

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()


def fits(text: str) -> bool:
    """Whether ``text`` fits a Storage Queue message once base64-encoded."""
    return 4 * math.ceil(len(text.encode()) / 3) <= MAX_MESSAGE_TEXT


def payload_container(deployment_prefix: str) -> str:
    """The blob container of the writer-queue bodies too large for a message."""
    return f"{deployment_prefix}-payloads"


def poison_queue(name: str) -> str:
    return f"{name}-poison"


# -- the writer queue's messages ----------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """A writer-queue message: the request's body, its group (the session id) and the sender's
    deduplication id; ``waiting_since`` is when it first waited for its turn (0: never). A body
    too large for a message is a blob (:class:`Payloads`) that ``payload`` names instead."""

    body: bytes
    group: str
    dedup_id: str
    waiting_since: float = 0.0
    payload: str = ""
    #: The sequence number of the request its sender sent before it in its group (-1: not said).
    prev: int = -1

    def encode(self) -> str:
        fields: dict[str, Any] = {"group": self.group, "dedup": self.dedup_id}
        if self.prev >= 0:
            fields["prev"] = self.prev
        if self.payload:
            fields["payload"] = self.payload
        else:
            try:
                fields["body"] = self.body.decode()
            except UnicodeDecodeError:
                fields["body64"] = base64.b64encode(self.body).decode()
        if self.waiting_since:
            fields["waiting-since"] = self.waiting_since
        return json.dumps(fields, separators=(",", ":"))

    @staticmethod
    def decode(text: str) -> Envelope:
        """MalformedMessage unless ``text`` is an envelope."""
        try:
            fields = json.loads(text)
        except ValueError as err:
            raise MalformedMessage(f"writer-queue message is not JSON: {err}") from err
        if not isinstance(fields, dict):
            raise MalformedMessage("writer-queue message is not a JSON object")
        group, dedup, since = fields.get("group"), fields.get("dedup", ""), fields.get("waiting-since", 0.0)
        if not isinstance(group, str) or not group or not isinstance(dedup, str):
            raise MalformedMessage("writer-queue message without a group")
        if not isinstance(since, int | float) or isinstance(since, bool) or not math.isfinite(since):
            raise MalformedMessage("writer-queue message with a malformed waiting-since")
        prev = fields.get("prev", -1)
        if not isinstance(prev, int) or isinstance(prev, bool) or prev < -1:
            raise MalformedMessage("writer-queue message with a malformed prev")
        if isinstance(fields.get("body"), str):
            body = str(fields["body"]).encode()
        elif isinstance(fields.get("body64"), str):
            try:
                body = base64.b64decode(str(fields["body64"]), validate=True)
            except (binascii.Error, ValueError) as err:
                raise MalformedMessage(f"writer-queue message body is not base64: {err}") from err
        elif isinstance(fields.get("payload"), str) and _PAYLOAD_NAME.fullmatch(str(fields["payload"])):
            return Envelope(b"", group, dedup, float(since), payload=str(fields["payload"]), prev=prev)
        else:
            raise MalformedMessage("writer-queue message without a body")
        return Envelope(body, group, dedup, float(since), prev=prev)


#: The blob names of payloads (never a path another blob of the container could have).
_PAYLOAD_NAME = re.compile(r"[0-9a-f]{32}")


class Payloads:
    """Writer-queue bodies too large for a message, one blob each in the deployment's payload
    container; a blob is deleted once its request was handled (a later copy of the message, which
    is then finished, is dead-lettered as gone)."""

    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    def put(self, body: bytes) -> str:
        name = uuid.uuid4().hex
        with azure_errors(f"store a request payload in {self._container.container_name}"):
            self._container.upload_blob(name, body)
        return name

    def get(self, name: str) -> bytes:
        """The payload; MalformedMessage if it is gone."""
        with azure_errors(f"read a request payload from {self._container.container_name}"):
            try:
                return bytes(self._container.download_blob(name).readall())
            except Refused as err:
                if not is_missing(err):
                    raise
        raise MalformedMessage(f"the request's payload {name} is gone (its request was handled)")

    def delete(self, name: str) -> None:
        with azure_errors(f"delete a request payload from {self._container.container_name}"):
            try:
                self._container.delete_blob(name)
            except Refused as err:
                if not is_missing(err):
                    raise


class WriterQueue(Queue):
    """The sending side of the writer queue (the client, the heartbeat and the distributor send)."""

    def __init__(self, queues: StorageQueues, name: str, payloads: Payloads | None = None) -> None:
        self._queues = queues
        self.name = name
        self.payloads = payloads
        #: The sequence number of the last request of each session sent from here.
        self._sent: dict[str, int] = {}
        self._guard = threading.Lock()

    def _ordered(self, body: bytes, group: str) -> tuple[WriteRequest, int] | None:
        """A session's own request with the seq sent before it; None for any other message."""
        try:
            request = WriteRequest.decode(body, sys.maxsize)
        except MalformedMessage:
            return None
        if request.op in _UNORDERED or request.session_id != group:
            return None
        with self._guard:
            return request, self._sent.get(group, 0 if request.op is Op.REGISTER_SESSION else -1)

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        """Enqueue ``body`` for ``group`` (a body too large for a message as a payload blob).
        Returns 0: Storage Queues number no messages, and the protocol uses no writer-queue
        sequence (a session's order is its requests' own)."""
        if not group:
            raise ProviderException("a writer-queue message needs a group (the session id)")
        ordered = self._ordered(body, group)
        envelope = Envelope(body, group, dedup_id, prev=ordered[1] if ordered else -1)
        text = envelope.encode()
        if fits(text) or self.payloads is None:
            self._queues.send(self.name, text)
        else:
            self._queues.send(self.name, replace(envelope, body=b"", payload=self.payloads.put(body)).encode())
        if ordered is not None:
            sent = ordered[0]
            with self._guard:
                if sent.op is Op.DEREGISTER_SESSION:
                    self._sent.pop(group, None)  # the session's last request
                elif sent.seq > self._sent.get(group, -1):
                    self._sent[group] = sent.seq
        return 0

    def send_again(self, envelope: Envelope, delay: int) -> None:
        """Enqueue a copy of a message that must wait, hidden for ``delay`` seconds."""
        self._queues.send(self.name, envelope.encode(), delay)

    def dead_letter(self, text: str, reason: str) -> None:
        self._queues.dead_letter(self.name, text, reason)


# -- the distributor's doorbells ----------------------------------------------------------


class Doorbells:
    """The distributor's doorbells: a message naming the transaction id up to which the
    distributor function drains the log."""

    def __init__(self, queues: StorageQueues, name: str) -> None:
        self._queues = queues
        self.name = name

    def ring(self, seq: int) -> None:
        self._queues.send(self.name, json.dumps({"upto": seq}))

    def dead_letter(self, text: str, reason: str) -> None:
        self._queues.dead_letter(self.name, text, reason)


def doorbell_sequence(text: str) -> int:
    """The id a doorbell names; MalformedMessage if it names none."""
    try:
        fields = json.loads(text)
    except ValueError as err:
        raise MalformedMessage(f"distributor doorbell is not JSON: {err}") from err
    upto = fields.get("upto") if isinstance(fields, dict) else None
    if not isinstance(upto, int) or isinstance(upto, bool) or upto < 0:
        raise MalformedMessage(f"distributor doorbell without a transaction id (upto={upto!r})")
    return upto


# -- the order within a session -----------------------------------------------------------


class Turn(Enum):
    NOW = "now"  # its turn, claimed: hand it to the writer, then move the session on
    AGAIN = "again"  # finished before: hand it to the writer, which answers it again
    EARLY = "early"  # a request before it is not finished, or another copy of it is being handled
    SKIPPED = "skipped"  # its sender gave up on it, and a later request of the session was taken


#: Skipped sequence numbers a session's turn remembers (each is a send its client saw fail).
SKIPPED_KEPT = 64
#: Seconds a claim lasts where the delivery's own deadline is unknown.
CLAIM_LIMIT = 300.0


@dataclass(frozen=True)
class TurnState:
    """A session's turn as stored: the highest sequence number finished (``done``), the request
    being handled (``claim``, until ``until`` seconds), and the requests skipped."""

    done: int = 0
    claim: int = 0
    until: float = 0.0
    skipped: tuple[int, ...] = ()
    version: object | None = None

    def value(self) -> dict[str, int | str | bytes]:
        return {
            "done": self.done,
            "claim": self.claim,
            "until-ms": int(self.until * 1000),
            "skipped": ",".join(map(str, self.skipped[-SKIPPED_KEPT:])),
        }

    def ready(self, seq: int, prev: int) -> bool:
        """Whether the request ``seq``, sent after ``prev`` (-1: not said), may be taken now."""
        return self.done >= prev if prev >= 0 else seq == self.done + 1


class SessionTurns:
    """Each session's turn (:class:`TurnState`), an item of system storage."""

    def __init__(
        self, storage: SystemStorage, prefix: str = "writer-turn", clock: Callable[[], float] = time.time
    ) -> None:
        self._storage = storage
        self._prefix = prefix
        self._clock = clock

    def key(self, session_id: str) -> ItemKey:
        return (f"{self._prefix}-{session_id}",)

    def state(self, session_id: str) -> TurnState:
        (item,) = self._storage.read_items([self.key(session_id)])
        if item is None:
            return TurnState()
        value = item.value
        skipped = str(value.get("skipped", ""))
        return TurnState(
            done=int(value["done"]),
            claim=int(value.get("claim", 0)),
            until=int(value.get("until-ms", 0)) / 1000,
            skipped=tuple(int(s) for s in skipped.split(",") if s),
            version=item.version,
        )

    def done(self, session_id: str) -> int:
        return self.state(session_id).done

    def _write(self, session_id: str, old: TurnState, new: TurnState) -> bool:
        key = self.key(session_id)
        write = CreateItem(key, new.value()) if old.version is None else UpdateItem(key, new.value(), old.version)
        return self._storage.write_items([write]) is not None

    def take(self, session_id: str, seq: int, prev: int = -1, until: float = math.inf) -> Turn:
        """The request's turn; NOW only with the session's claim taken for it until ``until``."""
        for _attempt in range(50):
            state = self.state(session_id)
            if seq in state.skipped:
                return Turn.SKIPPED
            if seq <= state.done:
                return Turn.AGAIN
            now = self._clock()
            if not state.ready(seq, prev) or (state.claim > state.done and now < state.until):
                return Turn.EARLY
            claimed = replace(state, claim=seq, until=min(until, now + CLAIM_LIMIT))
            if self._write(session_id, state, claimed):
                return Turn.NOW
        raise ProviderException(f"the turn of session {session_id} kept changing")

    def finished(self, session_id: str, seq: int, prev: int = -1) -> None:
        """Request ``seq`` of the session is finished: ``done`` becomes ``seq`` unless past it, and
        the requests between its predecessor and it that were never finished are skipped."""
        for _attempt in range(50):
            state = self.state(session_id)
            if state.done >= seq:
                return
            gap = range(max(state.done, prev) + 1, seq) if prev >= 0 else range(0)
            new = TurnState(done=seq, skipped=(*state.skipped, *gap), version=state.version)
            if self._write(session_id, state, new):
                return
        raise ProviderException(f"the turn of session {session_id} kept changing")

    def release(self, session_id: str, seq: int) -> None:
        """Give up the claim of request ``seq`` (its handling failed; it is delivered again)."""
        state = self.state(session_id)
        if state.claim == seq and state.version is not None:
            self._write(session_id, state, replace(state, claim=0, until=0.0))

    def forget(self, session_id: str) -> None:
        self._storage.write_items([DeleteItem(self.key(session_id))])


#: A session's record in system storage (None: not registered yet, or its record is gone).
ReadSession = Callable[[str], SessionRecord | None]


class OrderedWriter:
    """Hands writer-queue messages to the core writer one at a time per session, in the order of
    their sequence numbers (see the module's docstring)."""

    def __init__(
        self,
        queue: WriterQueue,
        turns: SessionTurns,
        read_session: ReadSession,
        *,
        wait_limit: float,
        patience: float = PATIENCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._turns = turns
        self._read_session = read_session
        self.wait_limit = wait_limit
        self.patience = patience
        self._clock = clock

    def dead_letter(self, text: str, reason: str) -> None:
        self._queue.dead_letter(text, reason)

    def process(self, text: str, delivery: QueueMessage, handle: Callable[[QueueMessage], None]) -> None:
        """Handle one writer-queue message (its text as the queue holds it; ``delivery`` the
        platform's envelope, whose body is ignored). Returns when the message is done with:
        handled, dead-lettered, or sent again to wait for its turn. Raises what ``handle`` raises
        but MalformedMessage and RetryLater: the message is then delivered again."""
        payloads = self._queue.payloads
        try:
            envelope = Envelope.decode(text)
            if envelope.payload:
                if payloads is None:
                    raise MalformedMessage("a payload blob is named, but this deployment stores none")
                envelope = replace(envelope, body=payloads.get(envelope.payload))
            request = WriteRequest.decode(envelope.body, sys.maxsize)
        except MalformedMessage as err:
            self._queue.dead_letter(text, str(err))
            return
        message = QueueMessage(
            body=envelope.body,
            sequence=delivery.sequence,
            group=envelope.group,
            message_id=delivery.message_id,
            receive_count=0,
            receipt=delivery.receipt,
            deadline=delivery.deadline,
        )
        turn = Turn.NOW if request.op in _UNORDERED else self._await_turn(request, envelope.prev, delivery.deadline)
        if turn is Turn.EARLY:
            self._wait(text, envelope, request)
            return
        if turn is Turn.SKIPPED:
            self._queue.dead_letter(
                text, f"request {request.seq} was given up by its sender, and later ones were taken"
            )
            return
        if delivery.receive_count > MAX_DEQUEUE:
            # Only a host allowing more dequeues delivers it: the instances it reached died.
            self._give_up(text, request, envelope, turn, f"delivered {delivery.receive_count} times, never finished")
            return
        claimed = turn is Turn.NOW and request.op not in _UNORDERED
        try:
            handle(message)
        except MalformedMessage as err:
            self._release(request, claimed)
            self._queue.dead_letter(text, str(err))
            return
        except RetryLater as later:
            self._release(request, claimed)
            log.info("writer-queue message %s sent again in %.3f s: %s", delivery.message_id, later.delay, later)
            self._queue.send_again(envelope, max(1, math.ceil(later.delay)))
            return
        except Exception as err:
            if delivery.receive_count < MAX_DEQUEUE:
                self._release(request, claimed)
                raise
            self._give_up(text, request, envelope, turn, f"failed {delivery.receive_count} times, the last: {err}")
            return
        if envelope.payload and payloads is not None:
            payloads.delete(envelope.payload)
        if request.op in _SESSION_CHANGES and not self._active(request.session_id):
            # Ended (or a registration delivered again after its end, which the writer dropped).
            self._turns.forget(request.session_id)
        elif claimed:
            self._turns.finished(request.session_id, request.seq, envelope.prev)

    def _active(self, session_id: str) -> bool:
        session = self._read_session(session_id)
        return session is not None and session.active

    def _ended(self, session_id: str) -> bool:
        """Whether the session has ended (a session not registered yet may be: its registration
        may be on its way, and its requests wait for it)."""
        session = self._read_session(session_id)
        return session is not None and not session.active

    def _release(self, request: WriteRequest, claimed: bool) -> None:
        if claimed:
            self._turns.release(request.session_id, request.seq)

    def _give_up(self, text: str, request: WriteRequest, envelope: Envelope, turn: Turn, reason: str) -> None:
        """Dead-letter a request that keeps failing; its session goes on with the next request, as
        a FIFO queue's group goes on past a dead-lettered message."""
        self._queue.dead_letter(text, reason)
        if turn is Turn.NOW and request.op not in _UNORDERED:
            self._turns.finished(request.session_id, request.seq, envelope.prev)

    def _await_turn(self, request: WriteRequest, prev: int, deadline: float) -> Turn:
        """The request's turn, waiting up to ``patience`` seconds while it is early."""
        waited, pause = 0.0, 0.01
        while True:
            turn = self._turns.take(request.session_id, request.seq, prev, deadline)
            if turn is not Turn.EARLY:
                return turn
            if waited == 0.0 and self._ended(request.session_id):
                return Turn.AGAIN  # the writer refuses the request
            if waited >= self.patience:
                return turn
            time.sleep(pause)
            waited += pause
            pause = min(0.1, pause * 2)

    def _wait(self, text: str, envelope: Envelope, request: WriteRequest) -> None:
        now = self._clock()
        since = envelope.waiting_since or now
        if now - since >= self.wait_limit:
            before = envelope.prev if envelope.prev >= 0 else request.seq - 1
            reason = (
                f"request {request.seq} of session {request.session_id} waited {now - since:.0f} s for "
                f"request {before}, which never came"
            )
            self._queue.dead_letter(text, reason)
            return
        log.info("request %d of session %s waits for its turn", request.seq, request.session_id)
        self._queue.send_again(replace(envelope, waiting_since=since), REQUEUE_DELAY)
