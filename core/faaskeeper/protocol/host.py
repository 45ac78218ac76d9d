"""Runs the functions in the client's own process over polling queues (the local provider's way).

Each process sharing a deployment runs one host; any host may take any message, so a message
whose process died is redelivered to another after its visibility timeout, as a cloud would.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from faaskeeper.api.provider import FunctionHost
from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper.exceptions import DeploymentUnusableException
from faaskeeper.protocol.batch import BatchResult, run_batch
from faaskeeper.protocol.settings import FunctionCrash

log = logging.getLogger("faaskeeper.host")


class PollingFunctionHost(FunctionHost):
    def __init__(
        self,
        triggers: list[tuple[PollingQueue, Callable[[QueueMessage], None]]],
        *,
        visibility_timeout: float,
        max_receives: int = 5,
        batch_size: int = 10,
        idle_poll: float = 0.05,
        name: str = "faaskeeper-functions",
        invocation: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    ) -> None:
        """``invocation``: what the host's work runs within while messages keep coming (the
        receiving, handling and settling of batches), as one function invocation: a provider's
        scope for the storage changes of its functions (by default none). A provider that
        shares transactions between them commits a batch's receipt before its handling, so that
        a function that dies is counted against its messages' receives."""
        self._triggers = triggers
        self._visibility_timeout = visibility_timeout
        self._max_receives = max_receives
        self._batch_size = batch_size
        self._idle_poll = idle_poll
        self._name = name
        self._invocation = invocation
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: Set when a fault hook killed a function: the host stops as the process would.
        self.crashed: FunctionCrash | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        self._wakeup.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None

    def run_once(self) -> bool:
        """Give every trigger one batch, in one invocation; True if any message was handled."""
        with self._invocation():
            return self._run_triggers()

    def _run_burst(self) -> bool:
        """Give the triggers batches, in one invocation, until none has a message; True if any
        message was handled."""
        with self._invocation():
            if not self._run_triggers():
                return False
            while not self._stopping.is_set() and self._run_triggers():
                pass
            return True

    def _run_triggers(self) -> bool:
        busy = False
        for queue, handler in self._triggers:
            messages = queue.receive(self._batch_size, self._visibility_timeout)
            if not messages:
                continue
            busy = True
            self._settle(queue, self._screen(queue, messages, handler))
        return busy

    def _screen(
        self, queue: PollingQueue, messages: list[QueueMessage], handler: Callable[[QueueMessage], None]
    ) -> BatchResult:
        fresh = []
        result = BatchResult()
        for message in messages:
            if message.receive_count > self._max_receives:
                result.dead.append((message, f"failed {message.receive_count - 1} deliveries"))
            else:
                fresh.append(message)
        outcome = run_batch(fresh, handler)
        outcome.dead.extend(result.dead)
        return outcome

    @staticmethod
    def _settle(queue: PollingQueue, result: BatchResult) -> None:
        for message in result.succeeded:
            queue.ack(message)
        for message, reason in result.dead:
            queue.dead_letter(message, reason)
        for message in result.failed:
            queue.release(message, delay=result.delays.get(message.message_id, 0.05 * message.receive_count))

    def _run(self) -> None:
        delay = 0.0005
        failing: str | None = None
        while not self._stopping.is_set():
            try:
                busy = self._run_burst()
                failing = None
            except FunctionCrash as crash:
                log.error("function crashed at %s; host stops", crash)
                self.crashed = crash
                return
            except DeploymentUnusableException as err:
                log.error("functions stop: %s", err)
                return
            except Exception as err:
                # A failure that persists (a full disk) is logged once, not at every poll.
                if repr(err) != failing:
                    log.exception("function host iteration failed")
                failing = repr(err)
                busy = False
            if busy:
                delay = 0.0005
                continue
            if self._wakeup.wait(delay):
                self._wakeup.clear()
                delay = 0.0005
            else:
                delay = min(delay * 2, self._idle_poll)


class ScheduledFunction:
    """Calls ``function`` every ``interval`` seconds on its own thread (a platform's schedule)."""

    def __init__(self, interval: float, function: Callable[[], object], name: str) -> None:
        self._interval = interval
        self._function = function
        self._name = name
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self._function()
            except DeploymentUnusableException as err:
                log.error("scheduled function %s stops: %s", self._name, err)
                return
            except Exception:
                log.exception("scheduled function %s failed", self._name)
