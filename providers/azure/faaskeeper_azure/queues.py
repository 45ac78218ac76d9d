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
sender's deduplication id and the body; a body too large for a message is stored as a blob of
the deployment's payload container, :class:`Payloads`, and the envelope names it). Storage
Queues keep no order, so the order within a session comes from the request's own sequence
number, which the client allocates consecutively per session (the registration is 1, every later
request of the session one more, the close last): :class:`SessionTurns` keeps, per session, the
last sequence number the writer finished (an item of system storage, ``done``), and
:meth:`OrderedWriter.process` takes a request only on its turn:

* ``seq == done + 1`` (its turn): handed to the core writer; once the writer returned, ``done``
  becomes ``seq`` (a conditional write; ``done`` never moves backwards). One that failed on its
  ``MAX_DEQUEUE``-th delivery is dead-lettered with the error, and ``done`` moves past it.
* ``seq <= done`` (finished before: a redelivery, or the client's duplicate): handed to the
  writer, which recognises it (the session's ``last_seq``, or the request's mark on the node it
  wrote) and only answers it again.
* ``seq > done + 1`` (early): it waits for its turn, first in the function for a moment (its
  predecessor is most likely being handled right now), then by being sent again, hidden for a
  second, and acknowledged; the copy carries when it first waited. A request of a session that
  is unknown or ended does not wait: the writer refuses it. One that waited ``wait_limit``
  seconds (its predecessor never came: the client lost it) is dead-lettered.
* The heartbeat's expiry and the distributor's sweep of a session (sequence number 0) are not
  requests of the session and wait for nothing; once the session has ended (closed, expired,
  swept), its ``done`` is forgotten: a request of it delivered later does not wait, and is refused.

Why this is per-session FIFO: ``done`` moves to ``seq`` only after the writer finished request
``seq``, and request ``seq + 1`` is handed to the writer only when it reads ``done == seq``
(every request is handed over at most on its turn, or after it was finished). So request ``n +
1`` of a session starts after request ``n`` finished, whatever order the queue delivers them in,
however often: exactly what a FIFO queue with one message of a group in flight gives the core
writer. A request that failed (the writer raised) leaves ``done`` behind, so it is delivered
again before any later request of its session is taken, as on a FIFO queue; after
``MAX_DEQUEUE`` failed deliveries it is dead-lettered and its session goes on, as a FIFO queue's
group goes on past a dead-lettered message. (One whose instances died ``MAX_DEQUEUE`` times is
moved to the poison queue by the Functions host without a word to the writer: the requests
behind it then wait out ``wait_limit`` and follow it there. Later requests are never applied out
of order.) A dead-lettered (malformed or forged) message never moves ``done``: a forger who
knows a session id cannot skip its requests.

Why writes stay linearizable: the writer pushes request ``n``'s write to the distributor log
(allocating its transaction id) before it returns, so request ``n + 1``'s write gets a larger
id, and the distributor applies ids in order (see the sequencer). Across sessions nothing
changes: the core's locks and the log order them.

Duplicates and redelivery: the writer's own checks make a request safe to hand over again; two
copies of one request handed over at the same time (a redelivery past the visibility timeout
while the first still runs, or the client's duplicate) meet at the node locks, and the second
finds the first's mark. Because a copy sent again starts over at a dequeue count of 1, and a
client's duplicate is a message of its own, the writer is told that any delivery may be a
redelivery (``receive_count`` 0, as Pub/Sub deliveries are): it then reads the session instead
of trusting the request's lease.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from azure.storage.blob import ContainerClient
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from faaskeeper.api.queue import Queue, QueueMessage
from faaskeeper.api.storage import CreateItem, DeleteItem, ItemKey, SystemStorage, UpdateItem
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.batch import RetryLater
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import SESSION_ENDS, Op, WriteRequest
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


class StorageQueues:
    """Clients of one storage account's queues, by name, sending and receiving base64 text."""

    def __init__(self, connection_string: str) -> None:
        self._connection_string = connection_string
        self._clients: dict[str, QueueClient] = {}

    def client(self, name: str) -> QueueClient:
        client = self._clients.get(name)
        if client is None:
            with azure_errors(f"open queue {name}"):
                client = QueueClient.from_connection_string(
                    self._connection_string,
                    name,
                    message_encode_policy=TextBase64EncodePolicy(),
                    message_decode_policy=TextBase64DecodePolicy(),
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

    def encode(self) -> str:
        fields: dict[str, Any] = {"group": self.group, "dedup": self.dedup_id}
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
        if isinstance(fields.get("body"), str):
            body = str(fields["body"]).encode()
        elif isinstance(fields.get("body64"), str):
            try:
                body = base64.b64decode(str(fields["body64"]), validate=True)
            except (binascii.Error, ValueError) as err:
                raise MalformedMessage(f"writer-queue message body is not base64: {err}") from err
        elif isinstance(fields.get("payload"), str) and _PAYLOAD_NAME.fullmatch(str(fields["payload"])):
            return Envelope(b"", group, dedup, float(since), payload=str(fields["payload"]))
        else:
            raise MalformedMessage("writer-queue message without a body")
        return Envelope(body, group, dedup, float(since))


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

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        """Enqueue ``body`` for ``group`` (a body too large for a message as a payload blob).
        Returns 0: Storage Queues number no messages, and the protocol uses no writer-queue
        sequence (a session's order is its requests' own)."""
        if not group:
            raise ProviderException("a writer-queue message needs a group (the session id)")
        text = Envelope(body, group, dedup_id).encode()
        if fits(text) or self.payloads is None:
            self._queues.send(self.name, text)
        else:
            self._queues.send(self.name, Envelope(b"", group, dedup_id, payload=self.payloads.put(body)).encode())
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
    NOW = "now"  # its turn: hand it to the writer, then move the session on
    AGAIN = "again"  # finished before: hand it to the writer, which answers it again
    EARLY = "early"  # a request before it is not finished


class SessionTurns:
    """The last sequence number the writer finished, per session, as items of system storage."""

    def __init__(self, storage: SystemStorage, prefix: str = "writer-turn") -> None:
        self._storage = storage
        self._prefix = prefix

    def key(self, session_id: str) -> ItemKey:
        return (f"{self._prefix}-{session_id}",)

    def done(self, session_id: str) -> int:
        (item,) = self._storage.read_items([self.key(session_id)])
        return 0 if item is None else int(item.value["done"])

    def turn(self, session_id: str, seq: int) -> Turn:
        done = self.done(session_id)
        if seq <= done:
            return Turn.AGAIN
        return Turn.NOW if seq == done + 1 else Turn.EARLY

    def finished(self, session_id: str, seq: int) -> None:
        """Request ``seq`` of the session is finished: ``done`` becomes ``seq`` unless past it."""
        key = self.key(session_id)
        for _attempt in range(50):
            (item,) = self._storage.read_items([key])
            if item is None:
                write: CreateItem | UpdateItem = CreateItem(key, {"done": seq})
            elif int(item.value["done"]) >= seq:
                return
            else:
                write = UpdateItem(key, {"done": seq}, item.version)
            if self._storage.write_items([write]) is not None:
                return
        raise ProviderException(f"the turn of session {session_id} kept changing")

    def forget(self, session_id: str) -> None:
        self._storage.write_items([DeleteItem(self.key(session_id))])


#: Whether a session is registered and has not ended (an early request of any other waits for nothing).
SessionActive = Callable[[str], bool]


class OrderedWriter:
    """Hands writer-queue messages to the core writer one at a time per session, in the order of
    their sequence numbers (see the module's docstring)."""

    def __init__(
        self,
        queue: WriterQueue,
        turns: SessionTurns,
        active: SessionActive,
        *,
        wait_limit: float,
        patience: float = PATIENCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._queue = queue
        self._turns = turns
        self._active = active
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
        turn = Turn.NOW if request.op in _UNORDERED else self._await_turn(request)
        if turn is Turn.EARLY:
            self._wait(text, envelope, request)
            return
        if delivery.receive_count > MAX_DEQUEUE:
            # Only a host allowing more dequeues delivers it: the instances it reached died.
            self._give_up(text, request, turn, f"delivered {delivery.receive_count} times, never finished")
            return
        try:
            handle(message)
        except MalformedMessage as err:
            self._queue.dead_letter(text, str(err))
            return
        except RetryLater as later:
            log.info("writer-queue message %s sent again in %.3f s: %s", delivery.message_id, later.delay, later)
            self._queue.send_again(envelope, max(1, math.ceil(later.delay)))
            return
        except Exception as err:
            if delivery.receive_count < MAX_DEQUEUE:
                raise
            self._give_up(text, request, turn, f"failed {delivery.receive_count} times, the last: {err}")
            return
        if envelope.payload and payloads is not None:
            payloads.delete(envelope.payload)
        if (request.op in SESSION_ENDS or request.op is Op.SWEEP_SESSION) and not self._active(request.session_id):
            self._turns.forget(request.session_id)
        elif turn is Turn.NOW:
            self._turns.finished(request.session_id, request.seq)

    def _give_up(self, text: str, request: WriteRequest, turn: Turn, reason: str) -> None:
        """Dead-letter a request that keeps failing; its session goes on with the next request, as
        a FIFO queue's group goes on past a dead-lettered message."""
        self._queue.dead_letter(text, reason)
        if turn is Turn.NOW:
            self._turns.finished(request.session_id, request.seq)

    def _await_turn(self, request: WriteRequest) -> Turn:
        """The request's turn, waiting up to ``patience`` seconds while it is early."""
        waited, pause = 0.0, 0.01
        while True:
            turn = self._turns.turn(request.session_id, request.seq)
            if turn is not Turn.EARLY:
                return turn
            if waited == 0.0 and not self._active(request.session_id):
                return Turn.AGAIN  # a session unknown or ended: the writer refuses the request
            if waited >= self.patience:
                return turn
            time.sleep(pause)
            waited += pause
            pause = min(0.1, pause * 2)

    def _wait(self, text: str, envelope: Envelope, request: WriteRequest) -> None:
        now = self._clock()
        since = envelope.waiting_since or now
        if now - since >= self.wait_limit:
            reason = (
                f"request {request.seq} of session {request.session_id} waited {now - since:.0f} s for "
                f"request {request.seq - 1}, which never came"
            )
            self._queue.dead_letter(text, reason)
            return
        log.info("request %d of session %s waits for its turn", request.seq, request.session_id)
        self._queue.send_again(replace(envelope, waiting_since=since), REQUEUE_DELAY)
