"""Helpers of the suites: waiting, collecting channel messages, running functions by hand."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment
from faaskeeper.api.queue import PollingQueue, Queue, QueueMessage
from faaskeeper.api.storage import SessionStatus, SystemStorage
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.host import PollingFunctionHost
from faaskeeper.protocol.leases import Lease
from faaskeeper.protocol.messages import Op, Reply, WriteRequest
from faaskeeper.protocol.settings import FaultHook, FunctionCrash, FunctionSettings
from faaskeeper.protocol.writer import Writer

T = TypeVar("T")

#: What a function does with one delivered message.
Handler = Callable[[QueueMessage], None]
#: A platform's function around one of the core's: given the core function's handler, the
#: handler of the messages the platform's queue delivers.
Trigger = Callable[[Handler], Handler]


def direct(handle: Handler) -> Handler:
    """The trigger of a platform whose queue delivers the core function's own messages."""
    return handle


@dataclass(frozen=True)
class FunctionTriggers:
    """How a platform hands queue messages to the core's writer and distributor, for running the
    functions by hand (:class:`FunctionRig`): the queues they are delivered from, as
    PollingQueues that send through the deployment's own queues, and the platform's function
    around each core function (:func:`direct` where the queue delivers the core function's own
    messages, as SQS FIFO does; on a platform that restores order itself, its ordering step)."""

    writer_queue: PollingQueue
    distributor_queue: PollingQueue
    writer: Trigger = direct
    distributor: Trigger = direct


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.01) -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def session_ended(system: SystemStorage, session_id: str) -> bool:
    """Whether the session has ended: its record is gone, or kept as an ended session's."""
    record = system.read_session(session_id)
    return record is None or not record.active


def session_drained(system: SystemStorage, session_id: str) -> bool:
    """Whether the session's end is done: its record is gone, or kept drained (its end answered)."""
    record = system.read_session(session_id)
    return record is None or record.status == SessionStatus.DRAINED


class Inbox:
    """A client-channel handler that keeps every message; answers requests with ``answer(message)``."""

    def __init__(self, answer: Callable[[bytes], bytes | None] | None = None) -> None:
        self.messages: list[bytes] = []
        self._answer = answer
        self._changed = threading.Condition()

    def __call__(self, message: bytes) -> bytes | None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        return self._answer(message) if self._answer is not None else None

    def wait_for(self, count: int, timeout: float) -> list[bytes]:
        """The first ``count`` (or more) messages; fails if fewer arrive within ``timeout`` s."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"expected {count} messages within {timeout:g} s, got {len(self.messages)}")
            return list(self.messages)

    def replies(self, seq: int | None = None) -> list[Reply]:
        """The write results received so far (for request ``seq`` only, if given)."""
        with self._changed:
            messages = list(self.messages)
        found = []
        for message in messages:
            data = json.loads(message)
            if data.get("kind") == "result" and (seq is None or data.get("seq") == seq):
                found.append(Reply.from_dict(data))
        return found

    def wait_reply(self, seq: int, timeout: float) -> Reply:
        return wait_until(lambda: self.replies(seq), timeout, f"the reply to request {seq}")[0]


@contextmanager
def listeners(deployment: Deployment) -> Iterator[Callable[[Inbox], ChannelListener]]:
    """``listen(inbox)`` starts a listener of ``deployment``'s client channel delivering into
    ``inbox``; all are stopped when the block ends."""
    started: list[ChannelListener] = []

    def listen(inbox: Inbox) -> ChannelListener:
        listener = deployment.listener()
        listener.start(inbox)
        started.append(listener)
        return listener

    try:
        yield listen
    finally:
        for listener in started:
            listener.stop()


class HandSession:
    """A client session driven by hand: requests go straight to the writer queue, replies to ``inbox``."""

    def __init__(self, queue: Queue, address: str, inbox: Inbox) -> None:
        self.id = uuid.uuid4().hex[:16]
        self.token = secrets.token_hex(16)
        self.seq = 0
        self.queue = queue
        self.address = address
        self.inbox = inbox

    def request(
        self,
        op: Op,
        path: str = "/",
        data: bytes = b"",
        version: int = -1,
        flags: int = 0,
        *,
        heartbeat: bool = True,
        lease: Lease | None = None,
    ) -> WriteRequest:
        """The session's next request (``Op.REGISTER_SESSION`` first)."""
        self.seq += 1
        return WriteRequest(
            op,
            self.id,
            self.token,
            self.seq,
            path=path,
            data=data,
            version=version,
            flags=flags,
            channel=self.address,
            heartbeat=heartbeat,
            reply_to=self.address,
            lease=lease,
        )

    def lease(self) -> Lease | None:
        """The latest lease the functions gave the session (on its registration's reply or a ping)."""
        found = [json.loads(m).get("lease") for m in list(self.inbox.messages)]
        leases = [Lease.from_wire(raw) for raw in found if raw is not None]
        return max(leases, key=lambda lease: lease.until, default=None)

    def push(self, request: WriteRequest, dedup: str | None = None) -> int:
        self.queue.send(request.encode(), self.id, dedup or request.request_id)
        return request.seq


def crash_at(*points: str) -> FaultHook:
    """A fault hook that kills the function (FunctionCrash) the first time it reaches each of ``points``."""
    remaining = set(points)
    guard = threading.Lock()

    def hook(point: str) -> None:
        with guard:
            if point not in remaining:
                return
            remaining.discard(point)
        raise FunctionCrash(point)

    return hook


class RecordingQueue(PollingQueue):
    """A polling queue that remembers what was dead-lettered, passing everything to ``inner``."""

    def __init__(self, inner: PollingQueue) -> None:
        self.inner = inner
        self.dead: list[tuple[QueueMessage, str]] = []

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        return self.inner.send(body, group, dedup_id)

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        return self.inner.receive(max_messages, visibility_timeout)

    def ack(self, message: QueueMessage) -> None:
        self.inner.ack(message)

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        self.inner.release(message, delay)

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        self.dead.append((message, reason))
        self.inner.dead_letter(message, reason)

    def depth(self) -> int:
        return self.inner.depth()


class _InFlight(PollingQueue):
    """A queue that remembers the messages received and not yet settled, passing everything to ``inner``."""

    def __init__(self, inner: PollingQueue) -> None:
        self.inner = inner
        self.held: dict[str, QueueMessage] = {}

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        return self.inner.send(body, group, dedup_id)

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        batch = self.inner.receive(max_messages, visibility_timeout)
        self.held.update((message.message_id, message) for message in batch)
        return batch

    def ack(self, message: QueueMessage) -> None:
        self.held.pop(message.message_id, None)
        self.inner.ack(message)

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        self.held.pop(message.message_id, None)
        self.inner.release(message, delay)

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        self.held.pop(message.message_id, None)
        self.inner.dead_letter(message, reason)

    def depth(self) -> int:
        return self.inner.depth()

    def release_held(self, delay: float) -> None:
        """What a dead function held is delivered again after ``delay`` seconds."""
        for message in list(self.held.values()):
            self.release(message, delay)


class FunctionRig:
    """The core's writer and distributor over a deployment's parts, run by hand like a polling host.

    Nothing runs in the background: ``run()`` processes what the queues hold until they are idle,
    so a test decides exactly when each function runs and where it dies (``faults``).

    A delivery is hidden for ``visibility_timeout`` seconds, long enough that no delivery runs past
    its deadline however slow the machine. When a function dies (``FunctionCrash``), the messages
    it held are delivered again ``redelivery_delay`` seconds later, as the platform delivers them
    again once their visibility timeout has run out; with ``redelivery_delay=None``, only once the
    test calls :meth:`redeliver`. ``writer_trigger`` and ``distributor_trigger`` put the
    platform's functions around the core's (:class:`FunctionTriggers`).
    """

    def __init__(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        *,
        faults: FaultHook | None = None,
        lock_max_hold: float = 0.5,
        visibility_timeout: float = 60.0,
        redelivery_delay: float | None = 0.3,
        writer_trigger: Trigger = direct,
        distributor_trigger: Trigger = direct,
    ) -> None:
        self.settings = FunctionSettings.from_config(deployment.config, lock_max_hold=lock_max_hold, faults=faults)
        self.writer = Writer(deployment.system_storage, distributor_queue, deployment.channel, self.settings)
        self.distributor = Distributor(
            deployment.system_storage,
            deployment.user_storage,
            deployment.channel,
            self.settings,
            writer_queue=writer_queue,
        )
        #: The functions as the platform runs them: what a writer-queue (distributor-queue) message is handed to.
        self.writer_function = writer_trigger(self.writer.handle)
        self.distributor_function = distributor_trigger(self.distributor.handle)
        self.visibility_timeout = visibility_timeout
        self._redelivery_delay = redelivery_delay
        self._in_flight = [_InFlight(writer_queue), _InFlight(distributor_queue)]
        self.host = PollingFunctionHost(
            [(self._in_flight[0], self.writer_function), (self._in_flight[1], self.distributor_function)],
            visibility_timeout=visibility_timeout,
        )

    def run(self, max_rounds: int = 50) -> int:
        """Run the functions until both queues have nothing visible; the number of busy rounds."""
        for busy in range(max_rounds):
            try:
                if not self.host.run_once():
                    return busy
            except FunctionCrash:
                if self._redelivery_delay is not None:
                    self.redeliver(self._redelivery_delay)
                raise
        raise AssertionError(f"the functions were still busy after {max_rounds} rounds")

    def redeliver(self, delay: float = 0.0) -> None:
        """The messages a dead function held are delivered again after ``delay`` seconds."""
        for queue in self._in_flight:
            queue.release_held(delay)

    def run_until(self, condition: Callable[[], T], timeout: float, what: str) -> T:
        """Run the functions until ``condition()`` is truthy, e.g. until a message hidden by its
        visibility timeout is delivered again; returns that value."""

        def step() -> T:
            self.run()
            return condition()

        return wait_until(step, timeout, what)
