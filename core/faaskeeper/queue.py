"""The upstream client's machinery: its work and event queues, the thread that submits requests,
the thread that orders results and watch notifications, and the listeners of the client channel.

They run on any :class:`~faaskeeper.providers.provider.ProviderClient` that sends requests
(:class:`~faaskeeper.providers.provider.DeploymentClient`, ``AWSClient``), for code that built
its own client from them. The listeners translate this project's client channel messages into
the upstream's (results as ``{"event", "status", "reason", ...}``, notifications as
``{"path", "watch-event", "timestamp"}``) and answer the service's pings. Upstream slips not
repeated: a notification fires every watch of the types the event fires (upstream: data watches
only, and only the first), each watch once; a result is matched to its request by number, and
writes complete in the order they were sent.
:class:`faaskeeper.client.FaaSKeeperClient` does not use these.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from faaskeeper.api.channel import ChannelListener
from faaskeeper.channels.tcp import TcpListener
from faaskeeper.client.futures import Future
from faaskeeper.config import Config
from faaskeeper.exceptions import MalformedInputException, SessionClosingException, TimeoutException
from faaskeeper.node import Node
from faaskeeper.operations import Operation, RegisterSession, RequestOperation
from faaskeeper.protocol.messages import Reply, pong
from faaskeeper.providers.provider import ProviderClient
from faaskeeper.providers.serialization import open_deployment
from faaskeeper.watch import Watch, WatchedEvent, WatchEventType

log = logging.getLogger("faaskeeper.queue")

#: Seconds a request waits for its result before TimeoutException (the upstream's 5 s).
RESULT_TIMEOUT = 5.0

#: This project's error codes and the upstream's failure reasons.
_REASONS = {
    "NodeExists": "node_exists",
    "NoNode": "node_doesnt_exist",
    "BadVersion": "update_failure",
    "NotEmpty": "not_empty",
    "SessionExpired": "session_does_not_exist",
}


def wait_until(timeout: float, interval: float, condition: Callable[..., bool], *args: Any) -> None:
    """Wait until ``condition(*args)`` holds or ``timeout`` seconds pass, checking every ``interval``."""
    start = time.monotonic()
    while not condition(*args) and time.monotonic() - start < timeout:
        time.sleep(interval)


def _hashed(path: str) -> str:
    return hashlib.md5(path.encode()).hexdigest()


class EventQueue:
    """Results and notifications on their way to the sorter thread, and the watches held."""

    class EventType(Enum):
        CLOUD_INDIRECT_RESULT = 0
        CLOUD_DIRECT_RESULT = 1
        CLOUD_EXPECTED_RESULT = 2
        WATCH_NOTIFICATION = 3

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue()
        #: md5 of a path -> the watches held on it (one per type).
        self._watches: dict[str, list[Watch]] = {}
        self._watches_lock = threading.Lock()
        self._closing = False

    def _put(self, *event: Any) -> None:
        if self._closing:
            raise SessionClosingException()
        self._queue.put(event)

    def add_expected_result(self, request_id: int, request: Operation, future: Future[Any]) -> None:
        self._put(EventQueue.EventType.CLOUD_EXPECTED_RESULT, request_id, request, future)

    def add_direct_result(self, request_id: int, result: Any, future: Future[Any]) -> None:
        self._put(EventQueue.EventType.CLOUD_DIRECT_RESULT, request_id, result, future)

    def add_indirect_result(self, result: dict[str, Any]) -> None:
        self._put(EventQueue.EventType.CLOUD_INDIRECT_RESULT, result)

    def add_watch_notification(self, result: dict[str, Any]) -> None:
        """Queue the event for every watch on ``result["path"]`` that the event fires and that was
        set before the change (``result["timestamp"]``); those watches are removed."""
        path = str(result["path"])
        event_type = WatchEventType(result["watch-event"])
        timestamp = int(result["timestamp"])
        with self._watches_lock:
            held = self._watches.get(_hashed(path), [])
            fired = [w for w in held if w.watch_type.fired_by(event_type) and w.timestamp < timestamp]
            if held:
                self._watches[_hashed(path)] = [w for w in held if w not in fired]
        if not fired:
            log.debug("no watch on %s for %s", path, event_type)
        for watch in fired:
            self._put(EventQueue.EventType.WATCH_NOTIFICATION, watch, WatchedEvent(event_type, path, timestamp))

    def add_watch(self, path: str, watch: Watch) -> None:
        """Hold ``watch`` on ``path``; it replaces a watch of the same type held there."""
        if self._closing:
            raise SessionClosingException()
        with self._watches_lock:
            held = self._watches.setdefault(_hashed(path), [])
            held[:] = [w for w in held if w.watch_type is not watch.watch_type] + [watch]

    def get_watches(self, paths: list[str], timestamp: int) -> list[Watch]:
        """Remove and return the watches held on ``paths`` (md5 of each path, as upstream) that
        were set before ``timestamp``."""
        if self._closing:
            raise SessionClosingException()
        found: list[Watch] = []
        with self._watches_lock:
            for hashed in paths:
                held = self._watches.get(hashed, [])
                older = [w for w in held if w.timestamp < timestamp]
                found.extend(older)
                remaining = [w for w in held if w not in older]
                if remaining:
                    self._watches[hashed] = remaining
                else:
                    self._watches.pop(hashed, None)
        return found

    def get(self) -> tuple[Any, ...] | None:
        try:
            return self._queue.get(block=True, timeout=0.5)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._closing = True


class WorkQueue:
    """The session's requests, in the order submitted, each with a request number."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[int, Operation, Future[Any]]] = queue.Queue()
        self._closing = False
        self._request_count = 0
        self._count_lock = threading.Lock()

    def add_request(self, op: Operation, fut: Future[Any]) -> None:
        if self._closing:
            raise SessionClosingException()
        with self._count_lock:
            self._queue.put((self._request_count, op, fut))
            self._request_count += 1

    def get(self) -> tuple[int, Operation, Future[Any]] | None:
        try:
            return self._queue.get(block=True, timeout=0.5)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._closing = True

    def wait_close(self, timeout: float = -1) -> None:
        """Wait up to ``timeout`` seconds for the queue to empty; TimeoutException if it does not."""
        if timeout > 0:
            wait_until(timeout, 0.05, self._queue.empty)
            if not self._queue.empty():
                raise TimeoutException(timeout)


def upstream_result(reply: Reply, session_id: str) -> dict[str, Any]:
    """A reply of this project's functions in the upstream's result format."""
    result: dict[str, Any] = {"event": f"{session_id}-{reply.seq}", "session_id": session_id}
    if reply.ok:
        result["status"] = "success"
        result["path"] = reply.path or ""
        if reply.stat is not None:
            result["system_counter"] = [reply.stat.czxid]
            result["modified_system_counter"] = [reply.stat.mzxid]
    else:
        result["status"] = "failure"
        result["reason"] = _REASONS.get(reply.error or "", reply.error)
        result["path"] = reply.error_path or reply.path or ""
    return result


class _ChannelTranslator:
    """Hands a client channel's messages to an event queue in the upstream's formats and
    answers the service's pings for ``session_id``."""

    def __init__(self, event_queue: EventQueue) -> None:
        self._event_queue = event_queue
        self.session_id = ""

    def __call__(self, payload: bytes) -> bytes | None:
        try:
            message = json.loads(payload)
            kind = message.get("kind")
            if kind == "ping":
                return pong(self.session_id)
            if kind == "watch":
                self._event_queue.add_watch_notification(
                    {"path": message["path"], "watch-event": message["event"], "timestamp": message["txn"]}
                )
            elif kind == "result":
                self._event_queue.add_indirect_result(upstream_result(Reply.from_dict(message), self.session_id))
        except SessionClosingException:
            pass
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignoring a malformed message on the client channel")
        return None


class _ChannelListening:
    """What the upstream's two listeners share: a channel listener whose messages go to the
    event queue, answering the pings of the session the submitter sets."""

    def __init__(self, event_queue: EventQueue, listener: ChannelListener) -> None:
        self._translator = _ChannelTranslator(event_queue)
        self._listener = listener
        self._listener.start(self._translator)
        self._running = True

    @property
    def session_id(self) -> str:
        """The session whose pings this listener answers (the submitter sets it)."""
        return self._translator.session_id

    @session_id.setter
    def session_id(self, value: str) -> None:
        self._translator.session_id = value

    def is_alive(self) -> bool:
        return self._running

    def stop(self) -> None:
        if self._running:
            self._listener.stop()
            self._released()
            self._running = False

    def _released(self) -> None:
        """Release what the listener used, once it has stopped."""


class ResponseListener(_ChannelListening):
    """Receives replies and notifications on a TCP port (``port``; -1 picks one) and hands them
    to ``event_queue``. ``host``: the address to listen on and give the service; it must reach
    this process (the upstream looked up its public IP instead)."""

    def __init__(self, event_queue: EventQueue, port: int = -1, *, host: str = "127.0.0.1") -> None:
        super().__init__(event_queue, TcpListener(host, port))
        self._public_addr, _, port_text = self._listener.address.removeprefix("tcp://").rpartition(":")
        self._port = int(port_text)

    @property
    def address(self) -> str:
        return self._public_addr

    @property
    def port(self) -> int:
        return self._port


class SQSListener(_ChannelListening):
    """Receives replies and notifications on the client channel of ``cfg``'s deployment when it
    is a queue per client (``"client-channel": "sqs"``, or the provider's equivalent)."""

    def __init__(self, event_queue: EventQueue, cfg: Config) -> None:
        self._deployment = open_deployment(cfg)
        super().__init__(event_queue, self._deployment.listener())

    @property
    def channel(self) -> str:
        """The channel's address, to register the session with."""
        return self._listener.address

    def _released(self) -> None:
        self._deployment.close()


class SubmitterThread(threading.Thread):
    """Takes requests from ``queue`` in order: sends writes through ``provider_client`` (their
    results come back through the listener), runs reads on it and queues their results."""

    def __init__(
        self,
        session_id: str,
        provider_client: ProviderClient,
        queue: WorkQueue,
        event_queue: EventQueue,
        response_handler: ResponseListener | SQSListener,
    ) -> None:
        super().__init__(daemon=True, name="faaskeeper-submitter")
        self._session_id = session_id
        self._queue = queue
        self._event_queue = event_queue
        self._provider_client = provider_client
        self._response_handler = response_handler
        response_handler.session_id = session_id
        self._work_event = threading.Event()
        self._work_event.set()
        self.start()

    def stop(self) -> None:
        self._work_event.clear()
        self.join()

    def run(self) -> None:
        listener_address: tuple[str, int] | tuple[()]
        if isinstance(self._response_handler, ResponseListener):
            listener_address = (self._response_handler.address, self._response_handler.port)
        else:
            listener_address = ()
        while self._work_event.is_set():
            submission = self._queue.get()
            if submission is None:
                continue
            req_id, request, future = submission
            try:
                if isinstance(request, RequestOperation):
                    send: Any = getattr(self._provider_client, "send_request")  # noqa: B009 - not on the interface upstream either
                    seq = send(request_id=f"{self._session_id}-{req_id}", data=request.generate_request())
                    self._event_queue.add_expected_result(seq if isinstance(seq, int) else req_id, request, future)
                    continue
                if isinstance(request, RegisterSession) and not request.source_addr:
                    if isinstance(self._response_handler, SQSListener):
                        request.source_addr = self._response_handler.channel
                    else:
                        request.source_addr = f"{self._response_handler.address}:{self._response_handler.port}"
                result = self._provider_client.execute_request(request, listener_address)  # type: ignore[arg-type]
                if isinstance(result, tuple):
                    value, watch = result
                    if watch is not None:
                        self._event_queue.add_watch(request.path, watch)
                    self._event_queue.add_direct_result(req_id, value, future)
                else:
                    self._event_queue.add_direct_result(req_id, result, future)
            except Exception as err:
                try:
                    self._event_queue.add_direct_result(req_id, err, future)
                except SessionClosingException:
                    future.set_exception(err)


class SorterThread(threading.Thread):
    """Completes the futures of writes in the order they were sent, matching each result to its
    request by the number it carries (replies may arrive out of order); completes reads at once;
    runs watch callbacks; fails a write whose result has not come within :data:`RESULT_TIMEOUT`."""

    def __init__(self, queue: EventQueue) -> None:
        super().__init__(daemon=True, name="faaskeeper-sorter")
        self._queue = queue
        self._work_event = threading.Event()
        self._work_event.set()
        self.start()

    def stop(self) -> None:
        self._work_event.clear()
        self.join()

    def run(self) -> None:
        #: [number, request, future, when it was sent], in the order sent.
        waiting: list[tuple[int, RequestOperation, Future[Any], float]] = []
        #: number -> (result, when it came), for results whose request is not at the head yet.
        arrived: dict[int, tuple[dict[str, Any], float]] = {}
        while self._work_event.is_set():
            submission = self._queue.get()
            if submission is not None:
                self._take(submission, waiting, arrived)
            self._release(waiting, arrived)

    def _take(
        self,
        submission: tuple[Any, ...],
        waiting: list[tuple[int, RequestOperation, Future[Any], float]],
        arrived: dict[int, tuple[dict[str, Any], float]],
    ) -> None:
        kind = submission[0]
        if kind is EventQueue.EventType.CLOUD_EXPECTED_RESULT:
            number, request, future = submission[1:]
            waiting.append((number, request, future, time.monotonic()))
        elif kind is EventQueue.EventType.CLOUD_INDIRECT_RESULT:
            result = submission[1]
            try:
                number = int(str(result["event"]).rsplit("-", 1)[1])
            except (KeyError, IndexError, ValueError):
                log.warning("ignoring a result without a request number: %s", result)
                return
            arrived[number] = (result, time.monotonic())
        elif kind is EventQueue.EventType.CLOUD_DIRECT_RESULT:
            _req_id, result, future = submission[1:]
            if isinstance(result, Node) and result.has_modified:
                # A read newer than a held watch: that watch's change happened (watch-before-data).
                timestamp = result.modified.system.sum
                for watch in self._queue.get_watches([_hashed(result.path)], timestamp):
                    watch.generate_message(WatchedEvent(WatchEventType.NODE_DATA_CHANGED, result.path, timestamp))
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        elif kind is EventQueue.EventType.WATCH_NOTIFICATION:
            watch, event = submission[1:]
            watch.generate_message(event)

    @staticmethod
    def _release(
        waiting: list[tuple[int, RequestOperation, Future[Any], float]],
        arrived: dict[int, tuple[dict[str, Any], float]],
    ) -> None:
        now = time.monotonic()
        while waiting:
            number, request, future, since = waiting[0]
            if number in arrived:
                result, _at = arrived.pop(number)
                try:
                    request.process_result(result, future)
                except KeyError as err:
                    future.set_exception(MalformedInputException(f"Malformed result {result}: missing {err}"))
            elif now - since >= RESULT_TIMEOUT:
                future.set_exception(TimeoutException(RESULT_TIMEOUT))
            else:
                return
            waiting.pop(0)
        for number in [n for n, (_result, at) in arrived.items() if now - at >= RESULT_TIMEOUT]:
            log.debug("dropping the result of request %d: no request waits for it", number)
            del arrived[number]
