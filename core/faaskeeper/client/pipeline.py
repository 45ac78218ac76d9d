"""Per-session ordering: operations take effect and complete in the order they were issued.

Writes are sent at once and complete when their reply arrives; replies may arrive out of order
(a failed write is answered by the writer, a successful one later by the distributor). A read
waits until every earlier operation has completed, so a session reads its own writes, and the
writes issued after a waiting read are held back until it has run, so it cannot see them.
Queued work runs on the pipeline's own thread, never on the thread that delivers replies.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from faaskeeper.client.futures import Future
from faaskeeper.exceptions import ConnectionLossException, FaaSKeeperException
from faaskeeper.protocol.messages import Reply

T = TypeVar("T")


class _Pending:
    """An operation in the pipeline, its future reached only through the three ways it completes."""

    __slots__ = ("fail", "outcome", "read", "reply", "send", "seq", "settle")

    def __init__(
        self,
        fail: Callable[[BaseException], None],
        *,
        settle: Callable[[Reply], None] | None = None,
        read: Callable[[], None] | None = None,
        seq: int = 0,
    ) -> None:
        #: Completes the future with an error.
        self.fail = fail
        #: Completes a write's future with its reply.
        self.settle = settle
        #: Runs a read and completes its future.
        self.read = read
        self.seq = seq
        self.reply: Reply | None = None
        #: A write held back behind a read, sent once the read has run.
        self.send: Callable[[], object] | None = None
        #: The error an abandoned operation completes with, in its turn.
        self.outcome: FaaSKeeperException | None = None

    @property
    def ready(self) -> bool:
        return self.read is not None or self.reply is not None or self.outcome is not None


class Pipeline:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[_Pending] = deque()
        self._writes: dict[int, _Pending] = {}
        self._busy = False
        self._held_back = 0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="faaskeeper-pipeline", daemon=True)
        self._thread.start()

    def __len__(self) -> int:
        with self._cond:
            return len(self._queue) + int(self._busy)

    def add_write(self, seq: int, future: Future[T], convert: Callable[[Reply], T], send: Callable[[], object]) -> None:
        """Register a write and send it, or hold it back while an earlier read waits to run.
        Once its turn comes, its future completes with ``convert(reply)``."""
        pending = _Pending(future.set_exception, settle=lambda reply: _settle(future, convert, reply), seq=seq)
        with self._cond:
            self._queue.append(pending)
            self._writes[seq] = pending
            if self._held_back or any(item.read is not None for item in self._queue):
                pending.send = send
                self._held_back += 1
                return
            try:
                _send(pending, send)
            finally:
                if pending.reply is not None:
                    self._cond.notify()

    def add_read(self, future: Future[T], read: Callable[[], T]) -> None:
        """Run a read once every earlier operation has completed; its future completes with what
        ``read()`` returns or raises."""
        with self._cond:
            inline = not self._queue and not self._busy
            if not inline:
                self._queue.append(_Pending(future.set_exception, read=lambda: _run_read(future, read)))
                self._cond.notify()
        if inline:
            _run_read(future, read)

    def on_reply(self, reply: Reply) -> None:
        with self._cond:
            pending = self._writes.pop(reply.seq, None)
            if pending is None:
                return  # a redelivered reply to a request already completed
            pending.reply = reply
            self._cond.notify()

    def abandon(self, unanswered: Callable[[int], FaaSKeeperException], unsent: FaaSKeeperException) -> None:
        """Complete every pending operation, in the order issued (the session's connection is
        released): a write whose reply arrived with that reply; a write sent but unanswered with
        ``unanswered(seq)`` (its outcome is unknown, unless the caller knows better); a write
        never sent and a read that never ran with ``unsent``. Replies arriving later are ignored.
        They complete on the pipeline's thread, after the operation it may be running."""
        with self._cond:
            for item in self._queue:
                if item.read is not None or item.send is not None:
                    item.outcome, item.send = unsent, None
                elif item.reply is None:
                    item.outcome = unanswered(item.seq)
            self._writes.clear()
            self._held_back = 0
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and not (self._queue and self._queue[0].ready):
                    self._cond.wait()
                if not (self._queue and self._queue[0].ready):
                    return  # stopped, with nothing left that can complete
                head = self._queue.popleft()
                self._busy = True
            try:
                _complete(head)
            finally:
                with self._cond:
                    self._busy = False
                    if head.read is not None:
                        self._release_held_back()

    def _release_held_back(self) -> None:
        """Send the writes held back behind the read that just ran, up to the next read."""
        for item in self._queue:
            if item.read is not None:
                return
            if item.send is not None:
                send, item.send = item.send, None
                self._held_back -= 1
                _send(item, send)


def _send(item: _Pending, send: Callable[[], object]) -> None:
    """Send a write; if sending fails, it completes with that error in its turn. Interrupted
    (Ctrl-C) or failing unexpectedly mid-send, it completes with an error saying its outcome is
    unknown, so the operations issued after it are not held up, and the interruption goes on."""
    try:
        send()
    except FaaSKeeperException as err:
        item.reply = Reply.failure(0, err)
    except BaseException as err:
        unknown = ConnectionLossException(
            f"Sending the request was interrupted ({type(err).__name__}): it may or may not take effect"
        )
        item.reply = Reply.failure(0, unknown)
        raise


def _complete(item: _Pending) -> None:
    if item.outcome is not None:
        item.fail(item.outcome)
    elif item.read is not None:
        item.read()
    elif item.settle is not None and item.reply is not None:
        item.settle(item.reply)


def _settle(future: Future[T], convert: Callable[[Reply], T], reply: Reply) -> None:
    try:
        future.set_result(convert(reply))
    except FaaSKeeperException as err:
        future.set_exception(err)


def _run_read(future: Future[T], read: Callable[[], T]) -> None:
    try:
        future.set_result(read())
    except FaaSKeeperException as err:
        future.set_exception(err)
    except Exception as err:  # a provider bug must still complete the future
        future.set_exception(err)
