"""The upstream client's own machinery (faaskeeper.queue: work and event queues, submitter and
sorter threads, the response listener) assembled as the upstream client assembled it, driving a
session on the local provider through a ProviderClient."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import BadVersionError, NodeDoesntExistException, NodeExistsException
from faaskeeper.node import Node
from faaskeeper.operations import (
    CreateNode,
    DeleteNode,
    DeregisterSession,
    ExistsNode,
    GetChildren,
    GetData,
    Operation,
    RegisterSession,
    SetData,
)
from faaskeeper.providers.provider import DeploymentClient
from faaskeeper.queue import EventQueue, ResponseListener, SorterThread, SubmitterThread, WorkQueue, wait_until
from faaskeeper.threading import Future
from faaskeeper.watch import Watch, WatchedEvent, WatchEventType, WatchType
from faaskeeper_local.provider import LocalProvider

#: Long enough that nothing is missed on a slow machine; the tests never wait for it to pass.
PATIENCE = 30.0


class Engine:
    """The upstream client's start(): queues, listener, threads, then the session's registration."""

    def __init__(self, cfg: Config, session_id: str) -> None:
        self.session_id = session_id
        self.provider = DeploymentClient(cfg)
        self.work_queue = WorkQueue()
        self.event_queue = EventQueue()
        self.listener = ResponseListener(self.event_queue, -1)
        self.submitter = SubmitterThread(session_id, self.provider, self.work_queue, self.event_queue, self.listener)
        self.sorter = SorterThread(self.event_queue)
        addr = f"{self.listener.address}:{self.listener.port}"
        self.call(RegisterSession(session_id=session_id, source_addr=addr, heartbeat=True))

    def call(self, op: Operation) -> object:
        future: Future[object] = Future()
        self.work_queue.add_request(op, future)
        return future.get(PATIENCE)

    def stop(self) -> None:
        self.event_queue.close()
        self.listener.stop()
        self.submitter.stop()
        self.sorter.stop()
        self.provider.close()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    section = {"path": str(tmp_path), "lock-max-hold": 1, "visibility-timeout": 1}
    cfg = LocalProvider().deploy(
        Config.deserialize({"cloud-provider": "local", "deployment-name": "q", "local": section})
    )
    started = Engine(cfg, "upstream1")
    yield started
    started.stop()


def test_the_upstream_engine_runs_a_session(engine: Engine) -> None:
    sid = engine.session_id
    created = engine.call(CreateNode(sid, "/a", b"one", 0))
    assert isinstance(created, Node)
    assert created.path == "/a"
    assert created.has_created
    with pytest.raises(NodeExistsException):
        engine.call(CreateNode(sid, "/a", b"", 0))
    sequential = engine.call(CreateNode(sid, "/a/s-", b"", 2))
    assert isinstance(sequential, Node)
    assert sequential.path.startswith("/a/s-")

    node = engine.call(GetData(sid, "/a"))
    assert isinstance(node, Node)
    assert node.data == b"one"
    updated = engine.call(SetData(sid, "/a", b"two", 0))
    assert isinstance(updated, Node)
    assert updated.modified.system > node.modified.system
    with pytest.raises(BadVersionError):
        engine.call(SetData(sid, "/a", b"three", 0))

    exists = engine.call(ExistsNode(sid, "/a"))
    assert isinstance(exists, Node)
    assert not exists.has_data
    children = engine.call(GetChildren(sid, "/a", True))
    assert isinstance(children, list)
    assert [c.path for c in children] == [sequential.path]

    engine.call(DeleteNode(sid, sequential.path, -1))
    assert engine.call(DeleteNode(sid, "/a", -1)) is None
    with pytest.raises(NodeDoesntExistException):
        engine.call(GetData(sid, "/a"))
    assert engine.call(DeregisterSession(sid)) == sid


def test_a_watch_set_through_the_engine_fires_once(engine: Engine) -> None:
    sid = engine.session_id
    engine.call(CreateNode(sid, "/w", b"0", 0))
    received: list[WatchedEvent] = []
    fired = threading.Event()

    def callback(event: WatchedEvent) -> None:
        received.append(event)
        fired.set()

    engine.call(GetData(sid, "/w", callback))
    written = engine.call(SetData(sid, "/w", b"1", -1))
    assert isinstance(written, Node)
    assert fired.wait(PATIENCE)
    engine.call(SetData(sid, "/w", b"2", -1))
    engine.call(GetData(sid, "/w"))
    assert [(e.event_type, e.path, e.timestamp) for e in received] == [
        (WatchEventType.NODE_DATA_CHANGED, "/w", written.modified.system.sum)
    ]


def test_the_event_queue_fires_every_watch_the_event_fires() -> None:
    events = EventQueue()
    seen: list[tuple[WatchType, str]] = []

    def recorder(watch_type: WatchType) -> Callable[[WatchedEvent], None]:
        return lambda event: seen.append((watch_type, str(event.event_type)))

    for watch_type in WatchType:
        events.add_watch("/n", Watch(5, watch_type, recorder(watch_type)))
    events.add_watch_notification({"path": "/n", "watch-event": 1, "timestamp": 9})  # upstream's NodeDeleted
    while (item := events.get()) is not None:
        item[1].generate_message(item[2])
    assert sorted(seen, key=lambda s: s[0].value) == [
        (WatchType.GET_DATA, "NodeDeleted"),
        (WatchType.EXISTS, "NodeDeleted"),
        (WatchType.GET_CHILDREN, "NodeDeleted"),
    ]
    assert events.get_watches([hashlib.md5(b"/n").hexdigest()], 100) == []


def test_work_queue_and_wait_until() -> None:
    queue = WorkQueue()
    futures: list[Future[object]] = [Future(), Future()]
    queue.add_request(ExistsNode("s", "/a"), futures[0])
    queue.add_request(ExistsNode("s", "/b"), futures[1])
    first, second = queue.get(), queue.get()
    assert first is not None
    assert second is not None
    assert (first[0], first[1].path) == (0, "/a")
    assert (second[0], second[1].path) == (1, "/b")
    queue.close()
    done = threading.Event()
    threading.Timer(0.05, done.set).start()
    wait_until(PATIENCE, 0.01, done.is_set)
    assert done.is_set()
