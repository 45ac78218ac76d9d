"""Futures returned by the client's ``*_async`` operations."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from faaskeeper.exceptions import TimeoutException

log = logging.getLogger("faaskeeper.client")


class CallbackRunner:
    """Runs user callbacks on one thread, in the order their events happened."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="faaskeeper-callbacks", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], None]) -> None:
        self._queue.put(fn)

    def _run(self) -> None:
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            try:
                fn()
            except Exception:
                log.exception("user callback raised")

    def stop(self) -> None:
        self._queue.put(None)
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)


class Future:
    """The result of an asynchronous operation.

    ``get()`` returns the result or raises the operation's exception; ``wait()`` blocks until
    done and says whether it succeeded; ``add_callback(fn)`` calls ``fn(future)`` once done.
    """

    def __init__(self, runner: CallbackRunner | None = None) -> None:
        self._done = threading.Event()
        self._result: Any = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future], None]] = []
        self._lock = threading.Lock()
        self._runner = runner

    def set_result(self, result: Any) -> None:
        self._finish(result, None)

    def set_exception(self, exception: BaseException) -> None:
        self._finish(None, exception)

    def _finish(self, result: Any, exception: BaseException | None) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self._result, self._exception = result, exception
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._dispatch(callback)

    def _dispatch(self, callback: Callable[[Future], None]) -> None:
        if self._runner is not None:
            self._runner.submit(lambda: callback(self))
        else:
            callback(self)

    def add_callback(self, callback: Callable[[Future], None]) -> None:
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        self._dispatch(callback)

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        if not self._done.wait(timeout):
            raise TimeoutException(timeout if timeout is not None else 0.0)
        return self._exception is None

    def get(self, timeout: float | None = None) -> Any:
        self.wait(timeout)
        if self._exception is not None:
            raise self._exception
        return self._result

    def exception(self) -> BaseException | None:
        return self._exception
