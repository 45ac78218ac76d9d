"""Callbacks that misbehave, on the local provider: the client's callback thread outlives
whatever a callback raises, and a callback that blocks holds up only the callbacks after it,
never a read; a read that does time out names the callback the callback thread is stuck in."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import faaskeeper_local.deployment as local_deployment
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.client.futures import Future
from faaskeeper.config import Config
from faaskeeper.exceptions import TimeoutException
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_local.provider import LocalProvider

#: Seconds to wait for something that is on its way.
SETTLE = 20.0


class Hostile(BaseException):
    """An exception no ``except Exception`` catches."""


def exits(_argument: object) -> None:
    sys.exit("a callback ended the program")


def interrupts(_argument: object) -> None:
    raise KeyboardInterrupt


def raises_hostile(_argument: object) -> None:
    raise Hostile("not an Exception")


def raises_value_error(_argument: object) -> None:
    raise ValueError("an ordinary bug")


RAISERS = [exits, interrupts, raises_hostile, raises_value_error]


class Calls:
    """What the callbacks that behave were called with, in order."""

    def __init__(self) -> None:
        self.calls: list[object] = []
        self._changed = threading.Condition()

    def record(self, what: object) -> None:
        with self._changed:
            self.calls.append(what)
            self._changed.notify_all()

    def wait(self, count: int) -> list[object]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.calls) >= count, SETTLE), f"only {self.calls}"
            return list(self.calls)


def _config(directory: Path) -> Config:
    config = Config.deserialize(
        {
            "cloud-provider": "local",
            "deployment-name": "hostile",
            "local": {"path": str(directory), "lock-max-hold": 1, "visibility-timeout": 1},
        }
    )
    return LocalProvider().deploy(config)


@pytest.fixture
def clients(tmp_path: Path) -> Iterator[Callable[..., FaaSKeeperClient]]:
    """``clients(timeout=...)`` starts a client of one local deployment; all are stopped after the test."""
    config = _config(tmp_path)
    started: list[FaaSKeeperClient] = []

    def start(timeout: float = SETTLE) -> FaaSKeeperClient:
        client = FaaSKeeperClient(config, timeout=timeout)
        client.start()
        started.append(client)
        return client

    yield start
    for client in started:
        if client.session_id is not None:
            client.stop()


def _changed(path: str, txn: int) -> WatchedEvent:
    return WatchedEvent(WatchEventType.NODE_DATA_CHANGED, path, txn)


def test_watch_callbacks_raising_anything_leave_the_callback_thread_running(
    clients: Callable[..., FaaSKeeperClient], caplog: pytest.LogCaptureFixture
) -> None:
    watcher, writer = clients(), clients()
    calls = Calls()
    for raiser in RAISERS:
        writer.create(f"/{raiser.__name__}", b"0")
        watcher.get_data(f"/{raiser.__name__}", watch=raiser)
        # A callback of the same notification after the raising one is still called.
        watcher.exists(f"/{raiser.__name__}", watch=calls.record)
    txns = [writer.set_data(f"/{raiser.__name__}", b"1").stat.mzxid for raiser in RAISERS]
    assert calls.wait(len(RAISERS)) == [_changed(f"/{r.__name__}", t) for r, t in zip(RAISERS, txns, strict=True)]
    # Reads owing a notification get it, and later watches fire.
    writer.create("/later", b"0")
    watcher.get_data("/later", watch=calls.record)
    later = writer.set_data("/later", b"1").stat.mzxid
    assert watcher.get_data("/later").data == b"1"
    assert calls.wait(len(RAISERS) + 1)[-1] == _changed("/later", later)
    logged = [r.getMessage() for r in caplog.records if r.name == "faaskeeper.client" and r.levelno >= logging.ERROR]
    for raiser in RAISERS:
        assert any(f"{__name__}.{raiser.__name__}" in message for message in logged), (raiser, logged)


def test_future_callbacks_raising_anything_leave_the_callback_thread_running(
    clients: Callable[..., FaaSKeeperClient],
) -> None:
    client = clients()
    calls = Calls()
    futures: list[Future] = []
    for raiser in RAISERS:
        future = client.create_async(f"/{raiser.__name__}", b"")
        future.add_callback(raiser)
        future.add_callback(lambda done: calls.record(done.get().path))
        futures.append(future)
    for future in futures:
        future.get(SETTLE)
    assert calls.wait(len(RAISERS)) == [f"/{raiser.__name__}" for raiser in RAISERS]


def test_a_callback_that_never_returns_holds_up_the_callbacks_after_it_but_no_operation(
    clients: Callable[..., FaaSKeeperClient],
) -> None:
    """Reads of changed nodes whose notifications queue behind the stuck callback, children
    with their data, writes: all complete; once it returns, the queued callbacks run in order."""
    watcher, writer = clients(), clients()
    for path in ("/stuck", "/a", "/dir", "/dir/x"):
        writer.create(path, b"0")
    started, release = threading.Event(), threading.Event()
    calls = Calls()

    def stuck(event: WatchedEvent) -> None:
        started.set()
        release.wait(SETTLE * 3)
        calls.record(event)

    watcher.get_data("/stuck", watch=stuck)
    watcher.get_data("/a", watch=calls.record)
    watcher.get_children("/dir", watch=calls.record)
    watcher.get_data("/dir/x", watch=calls.record)
    try:
        stuck_at = writer.set_data("/stuck", b"1").stat.mzxid
        assert started.wait(SETTLE)
        a_at = writer.set_data("/a", b"1").stat.mzxid
        x_at = writer.set_data("/dir/x", b"1").stat.mzxid
        child = writer.create("/dir/y", b"y")
        assert watcher.get_data("/a").data == b"1"
        assert sorted((n.path, n.data) for n in watcher.get_children("/dir", include_data=True)) == [
            ("/dir/x", b"1"),
            ("/dir/y", b"y"),
        ]
        assert watcher.set_data("/a", b"2").stat.version == 2
        assert watcher.exists("/a") is not None
        assert calls.calls == []
    finally:
        release.set()
    children = WatchedEvent(WatchEventType.NODE_CHILDREN_CHANGED, "/dir", child.stat.czxid)
    assert calls.wait(4) == [_changed("/stuck", stuck_at), _changed("/a", a_at), _changed("/dir/x", x_at), children]


def test_a_read_that_times_out_names_the_callback_the_callback_thread_is_stuck_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notification a read owes is held up (its delivery stalls) while a callback blocks:
    the read fails naming that callback and how long it has run."""
    deliveries_stall, delivery_released = threading.Event(), threading.Event()

    def stall(point: str) -> None:
        if point == "watch.deliver" and deliveries_stall.is_set():
            delivery_released.wait(SETTLE * 3)

    monkeypatch.setattr(local_deployment, "process_faults", stall)
    config = _config(tmp_path)
    watcher = FaaSKeeperClient(config, timeout=5.0)
    writer, bystander = FaaSKeeperClient(config, timeout=SETTLE), FaaSKeeperClient(config, timeout=SETTLE)
    started, release = threading.Event(), threading.Event()

    def stuck(_event: WatchedEvent) -> None:
        started.set()
        release.wait(SETTLE * 3)

    for client in (watcher, writer, bystander):
        client.start()
    try:
        writer.create("/stuck", b"0")
        writer.create("/b", b"0")
        watcher.get_data("/stuck", watch=stuck)
        watcher.get_data("/b", watch=lambda event: None)
        writer.set_data("/stuck", b"1")
        assert started.wait(SETTLE)
        deliveries_stall.set()
        write = writer.set_data_async("/b", b"1")
        deadline = time.monotonic() + SETTLE
        while bystander.get_data("/b").data != b"1":
            assert time.monotonic() < deadline, "the write was not applied"
            time.sleep(0.01)
        with pytest.raises(TimeoutException) as failed:
            watcher.get_data("/b")
        message = str(failed.value)
        assert "data watch on /b" in message
        assert f"the callback thread has been running {__name__}.{stuck.__qualname__} for " in message
        delivery_released.set()
        write.get(SETTLE)
    finally:
        delivery_released.set()
        release.set()
        for client in (watcher, writer, bystander):
            client.stop()
