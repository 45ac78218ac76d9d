"""The client's callback thread: it runs callbacks one at a time in the order they were given,
outlives whatever a callback raises, and says which callback it is running and for how long."""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from faaskeeper.client.futures import CallbackRunner, Future, callback_name


class Hostile(BaseException):
    """An exception no ``except Exception`` catches."""


@pytest.fixture
def runner() -> Iterator[CallbackRunner]:
    callbacks = CallbackRunner()
    yield callbacks
    callbacks.stop()


def _exits(_argument: object) -> None:
    sys.exit("a callback ended the program")


def _interrupts(_argument: object) -> None:
    raise KeyboardInterrupt


def _raises_hostile(_argument: object) -> None:
    raise Hostile("not an Exception")


def _raises_value_error(_argument: object) -> None:
    raise ValueError("an ordinary bug")


@pytest.mark.parametrize("raiser", [_exits, _interrupts, _raises_hostile, _raises_value_error])
def test_the_callbacks_after_one_that_raises_anything_run_in_order(
    runner: CallbackRunner, raiser: object, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[int] = []
    done = threading.Event()
    runner.submit(ran.append, 1)
    runner.submit(raiser, 2)  # type: ignore[arg-type]
    runner.submit(ran.append, 3)
    runner.submit(lambda: done.set())
    assert done.wait(10), "the callback thread died"
    assert ran == [1, 3]
    [record] = [r for r in caplog.records if r.name == "faaskeeper.client"]
    assert record.levelno == logging.ERROR
    assert f"{__name__}.{raiser.__name__}" in record.getMessage()  # type: ignore[attr-defined]
    assert record.exc_info is not None, "the traceback is logged"


def test_future_callbacks_that_raise_anything_leave_the_others_running(runner: CallbackRunner) -> None:
    future: Future = Future(runner)
    called: list[str] = []
    done = threading.Event()
    future.add_callback(lambda _f: _exits(None))
    future.add_callback(lambda f: called.append(f.get()))
    future.set_result("result")
    future.add_callback(lambda _f: _interrupts(None))
    future.add_callback(lambda _f: done.set())
    assert done.wait(10), "the callback thread died"
    assert called == ["result"]


def test_it_names_the_callback_it_is_running_and_for_how_long(runner: CallbackRunner) -> None:
    assert runner.running() is None, "idle"
    release, started = threading.Event(), threading.Event()

    def blocks(_argument: object) -> None:
        started.set()
        release.wait(30)

    runner.submit(blocks, None)
    try:
        assert started.wait(10)
        running = runner.running()
        assert running is not None
        assert running.name == f"{__name__}.test_it_names_the_callback_it_is_running_and_for_how_long.<locals>.blocks"
        assert running.seconds >= 0
        time.sleep(0.05)
        again = runner.running()
        assert again is not None
        assert again.seconds >= running.seconds + 0.04, "it counts from when the callback started"
        assert str(again) == f"{again.name}, running for {again.seconds:.1f} s"
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while runner.running() is not None:
        assert time.monotonic() < deadline, "still running after the callback returned"
        time.sleep(0.01)


class _CallableObject:
    def __call__(self, _event: object) -> None:
        pass

    def method(self, _event: object) -> None:
        pass


class _HostileName:
    """A callable whose every attribute look-up raises."""

    def __getattribute__(self, name: str) -> object:
        if name == "__class__":
            return _HostileName
        raise RuntimeError(f"no {name} for you")

    def __call__(self) -> None:
        pass


def test_callback_names_are_qualified() -> None:
    assert callback_name(_exits) == f"{__name__}._exits"
    assert callback_name(_CallableObject()) == f"{__name__}._CallableObject"
    assert callback_name(_CallableObject().method) == f"{__name__}._CallableObject.method"
    assert callback_name(functools.partial(_exits, 1)) == f"{__name__}._exits"
    assert callback_name(print) == "builtins.print"
    assert callback_name(_HostileName()) == f"{__name__}._HostileName"
