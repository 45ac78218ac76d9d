"""Futures returned by the client's ``*_async`` operations, and the thread their callbacks run on."""

from __future__ import annotations

import functools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, TypeVarTuple, cast

from faaskeeper.exceptions import TimeoutException

log = logging.getLogger("faaskeeper.client")

Args = TypeVarTuple("Args")
#: What a future gives; covariant, so that a ``Future[Node]`` is a ``Future[object]`` to code that
#: collects futures of several operations.
T_co = TypeVar("T_co", covariant=True)

_Job = tuple[Callable[..., object], tuple[object, ...]]


@dataclass(frozen=True)
class RunningCallback:
    """A callback the callback thread is running: its qualified name, and for how long it has run."""

    name: str
    seconds: float

    def __str__(self) -> str:
        return f"{self.name}, running for {self.seconds:.1f} s"


@dataclass(frozen=True)
class _Started:
    name: str
    at: float


class CallbackRunner:
    """Runs user callbacks on one thread, one at a time, in the order they were submitted.

    The thread outlives anything a callback raises, ``SystemExit`` and ``KeyboardInterrupt``
    included: the error is logged with the callback's name and the next callback runs. A
    callback that blocks holds up the ones after it, as in ZooKeeper's event thread;
    :meth:`running` says which one the thread is in."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._started: _Started | None = None
        self._thread = threading.Thread(target=self._run, name="faaskeeper-callbacks", daemon=True)
        self._thread.start()

    def submit(self, callback: Callable[[*Args], object], *args: *Args) -> None:
        """Call ``callback(*args)`` on the callback thread, after the callbacks submitted before."""
        self._queue.put((callback, args))

    def running(self) -> RunningCallback | None:
        """The callback the thread is running, or None while it waits for one."""
        started = self._started
        if started is None:
            return None
        return RunningCallback(started.name, self._clock() - started.at)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            self._call(*job)

    def _call(self, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        name = "a callback"
        try:
            name = callback_name(callback)
            self._started = _Started(name, self._clock())
            callback(*args)
        except BaseException as err:  # a user's callback must not end the thread, whatever it raises
            log.exception("callback %s raised %s; the next callbacks run", name, type(err).__name__)
        finally:
            self._started = None

    def stop(self) -> None:
        """Let the callbacks submitted so far run, then end the thread; waits up to 5 s for them."""
        self._queue.put(None)
        if threading.current_thread() is self._thread:
            return
        self._thread.join(timeout=5)
        running = self.running()
        if running is not None:
            log.warning("the callback thread is still in %s; it is left to finish on its own", running)


def callback_name(callback: object) -> str:
    """``module.qualified.name`` of a function, method or callable object (of the function a
    ``functools.partial`` wraps), for messages; never raises."""
    try:
        target = callback
        while isinstance(target, functools.partial):
            target = target.func
        qualname, module = getattr(target, "__qualname__", None), getattr(target, "__module__", None)
        if isinstance(qualname, str):
            return f"{module}.{qualname}" if isinstance(module, str) and module else qualname
    except Exception:
        target = callback
    kind = type(target)
    return f"{kind.__module__}.{kind.__qualname__}"


class Future(Generic[T_co]):
    """The result of an asynchronous operation, of type ``T_co``.

    ``get()`` returns the result or raises the operation's exception; ``wait()`` blocks until
    done and says whether it succeeded; ``add_callback(fn)`` calls ``fn(future)`` once done.
    """

    def __init__(self, runner: CallbackRunner | None = None) -> None:
        self._done = threading.Event()
        self._result: object = None
        self._exception: BaseException | None = None
        self._callbacks: list[Callable[[Future[T_co]], None]] = []
        self._lock = threading.Lock()
        self._runner = runner

    # Only the future's producer, which holds it as the type it was made with, completes it.
    def set_result(self, result: T_co) -> None:  # type: ignore[misc]
        self._finish(result, None)

    def set_exception(self, exception: BaseException) -> None:
        self._finish(None, exception)

    def _finish(self, result: object, exception: BaseException | None) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self._result, self._exception = result, exception
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            self._dispatch(callback)

    def _dispatch(self, callback: Callable[[Future[T_co]], None]) -> None:
        if self._runner is not None:
            self._runner.submit(callback, self)
        else:
            callback(self)

    def add_callback(self, callback: Callable[[Future[T_co]], None] | None = None) -> None:
        """Call ``callback(future)`` once the future is done (at once if it is). Without a
        callback nothing happens, as with the upstream client's ``add_callback()``."""
        if callback is None:
            return
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

    def get(self, timeout: float | None = None) -> T_co:
        self.wait(timeout)
        if self._exception is not None:
            raise self._exception
        # Completed without an exception: by set_result, with a T_co.
        return cast(T_co, self._result)

    def exception(self) -> BaseException | None:
        return self._exception
