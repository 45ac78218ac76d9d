"""Per-session ordering: operations complete in the order they were issued.

Writes are sent at once and complete when their reply arrives; replies may arrive out of order
(a failed write is answered by the writer, a successful one later by the distributor). A read
waits until every earlier operation has completed, so a session reads its own writes.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from faaskeeper.client.futures import Future
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper.protocol.messages import Reply

ReplyConverter = Callable[[Reply], Any]


class _Pending:
    __slots__ = ("convert", "future", "read", "reply")

    def __init__(self, future: Future, convert: ReplyConverter | None, read: Callable[[], Any] | None) -> None:
        self.future = future
        self.convert = convert
        self.read = read
        self.reply: Reply | None = None


class Pipeline:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[_Pending] = deque()
        self._writes: dict[int, _Pending] = {}
        self._draining = False
        self._again = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)

    def add_write(self, seq: int, future: Future, convert: ReplyConverter) -> None:
        """Register a write before it is sent."""
        pending = _Pending(future, convert, None)
        with self._lock:
            self._queue.append(pending)
            self._writes[seq] = pending

    def add_read(self, future: Future, read: Callable[[], Any]) -> None:
        with self._lock:
            inline = not self._queue and not self._draining
            if not inline:
                self._queue.append(_Pending(future, None, read))
        if inline:
            _run_read(future, read)
        else:
            self.drain()

    def on_reply(self, reply: Reply) -> None:
        with self._lock:
            pending = self._writes.pop(reply.seq, None)
            if pending is None:
                return  # a redelivered reply to a request already completed
            pending.reply = reply
        self.drain()

    def fail_all(self, error: FaaSKeeperException) -> None:
        """Complete every pending operation with ``error`` (the session ended)."""
        with self._lock:
            pending, self._queue = list(self._queue), deque()
            self._writes.clear()
        for item in pending:
            item.future.set_exception(error)

    def drain(self) -> None:
        with self._lock:
            if self._draining:
                self._again = True
                return
            self._draining = True
        try:
            while True:
                with self._lock:
                    head = self._queue[0] if self._queue else None
                    if head is None or (head.read is None and head.reply is None):
                        if self._again:
                            self._again = False
                            continue
                        self._draining = False
                        return
                    self._queue.popleft()
                self._complete(head)
        except BaseException:
            with self._lock:
                self._draining = False
            raise

    @staticmethod
    def _complete(item: _Pending) -> None:
        if item.read is not None:
            _run_read(item.future, item.read)
            return
        reply = item.reply
        assert reply is not None
        assert item.convert is not None
        try:
            item.future.set_result(item.convert(reply))
        except FaaSKeeperException as err:
            item.future.set_exception(err)


def _run_read(future: Future, read: Callable[[], Any]) -> None:
    try:
        future.set_result(read())
    except FaaSKeeperException as err:
        future.set_exception(err)
    except Exception as err:  # a provider bug must still complete the future
        future.set_exception(err)
