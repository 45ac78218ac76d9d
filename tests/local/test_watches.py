"""Watches: ZooKeeper's triggers, one-shot delivery, the registration race, watch-before-data."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable

import pytest

import faaskeeper_local.deployment as local_deployment
from faaskeeper.api.storage import WatchKind, WatchRecord
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.client.futures import Future
from faaskeeper.config import Config
from faaskeeper.exceptions import MalformedInputException, NodeDoesntExistException
from faaskeeper.node import Node
from faaskeeper.protocol.watch_function import WatchFunction
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_local.provider import LocalProvider

from .conftest import local_config

Created = WatchEventType.NODE_CREATED
Deleted = WatchEventType.NODE_DELETED
Changed = WatchEventType.NODE_DATA_CHANGED
Children = WatchEventType.NODE_CHILDREN_CHANGED

#: Seconds to wait for what must happen: only a failing test waits this long.
SETTLE = 30.0


class Recorder:
    """A watch callback that records its events."""

    def __init__(self) -> None:
        self.events: queue.Queue[WatchedEvent] = queue.Queue()

    def __call__(self, event: WatchedEvent) -> None:
        self.events.put(event)

    def next(self, timeout: float = SETTLE) -> WatchedEvent:
        return self.events.get(timeout=timeout)

    def nothing(self, wait: float = 0.3) -> bool:
        try:
            event = self.events.get(timeout=wait)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected event {event}")


def storage(client: FaaSKeeperClient):
    assert client._session is not None
    return client._session.deployment.system_storage


def read_in_turn(client: FaaSKeeperClient, path: str, log: list) -> Node:
    """Read ``path``, and log ``("read", data)`` from the callback thread, where it comes after
    the watch callbacks of the notifications the read waited for."""
    read = client.get_data_async(path)
    node = read.get(SETTLE)
    logged = threading.Event()

    def log_read(done: Future) -> None:
        log.append(("read", done.get().data))
        logged.set()

    read.add_callback(log_read)
    assert logged.wait(SETTLE)
    return node


def test_get_data_watch_fires_once_on_set_data(client, other):
    client.create("/w", b"0")
    watch = Recorder()
    other.get_data("/w", watch=watch)
    node = client.set_data("/w", b"1")
    event = watch.next()
    assert event.event_type is Changed
    assert event.type == "NodeDataChanged"
    assert event.path == "/w"
    assert event.timestamp == node.stat.mzxid
    client.set_data("/w", b"2")
    assert watch.nothing()
    assert storage(client).count_watches() == 0


def test_get_data_watch_fires_on_delete(client, other):
    client.create("/w", b"")
    watch = Recorder()
    other.get_data("/w", watch=watch)
    client.delete("/w")
    assert watch.next().event_type is Deleted


def test_get_data_watch_is_not_fired_by_children(client, other):
    client.create("/w", b"")
    watch = Recorder()
    other.get_data("/w", watch=watch)
    client.create("/w/child", b"")
    assert watch.nothing()


def test_get_data_watch_on_missing_node_is_not_set(client):
    with pytest.raises(NodeDoesntExistException):
        client.get_data("/missing", watch=Recorder())
    assert storage(client).count_watches() == 0


def test_exists_watch_on_missing_node_fires_on_create(client, other):
    watch = Recorder()
    assert other.exists("/later", watch=watch) is None
    node = client.create("/later", b"")
    event = watch.next()
    assert (event.event_type, event.path, event.timestamp) == (Created, "/later", node.stat.czxid)


def test_exists_watch_fires_on_set_and_delete(client, other):
    client.create("/e", b"")
    first, second = Recorder(), Recorder()
    other.exists("/e", watch=first)
    client.set_data("/e", b"x")
    assert first.next().event_type is Changed
    other.exists("/e", watch=second)
    client.delete("/e")
    assert second.next().event_type is Deleted


def test_children_watch_triggers(client, other):
    client.create("/p", b"")
    watch = Recorder()
    other.get_children("/p", watch=watch)
    client.set_data("/p", b"data of the parent")
    assert watch.nothing()
    created = client.create("/p/a", b"")
    event = watch.next()
    assert (event.event_type, event.path, event.timestamp) == (Children, "/p", created.stat.czxid)

    other.get_children("/p", watch=watch)
    client.set_data("/p/a", b"data of a child")
    assert watch.nothing()
    client.delete("/p/a")
    assert watch.next().event_type is Children

    other.get_children("/p", watch=watch)
    client.delete("/p")
    assert watch.next().event_type is Deleted


def test_every_kind_of_watch_on_one_node(client, other):
    client.create("/all", b"")
    data, exists, children = Recorder(), Recorder(), Recorder()
    other.get_data("/all", watch=data)
    other.exists("/all", watch=exists)
    other.get_children("/all", watch=children)
    client.delete("/all")
    assert data.next().event_type is Deleted
    assert exists.next().event_type is Deleted
    assert children.next().event_type is Deleted


def test_a_client_watching_its_own_writes_hears_before_the_reply(client):
    client.create("/own", b"")
    order: list[str] = []
    client.get_data("/own", watch=lambda event: order.append("event"))
    future = client.set_data_async("/own", b"x")
    future.add_callback(lambda _f: order.append("reply"))
    future.get(SETTLE)
    deadline = time.monotonic() + SETTLE
    while len(order) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert order == ["event", "reply"]


def test_watch_must_be_callable(client):
    client.create("/c", b"")
    with pytest.raises(MalformedInputException, match="callable"):
        client.get_data("/c", watch="not a function")


def test_notifications_arrive_in_transaction_order(client, other):
    for i in range(20):
        client.create(f"/o{i}", b"")
    watch = Recorder()
    for i in range(20):
        other.get_data(f"/o{i}", watch=watch)
    futures = [client.set_data_async(f"/o{i}", b"x") for i in reversed(range(20))]
    for f in futures:
        f.get(10)
    events = [watch.next() for _ in range(20)]
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert [e.path for e in events] == [f"/o{i}" for i in reversed(range(20))]


def test_registration_racing_a_write_fires_at_once(client, other):
    """The write lands between the watch's first read and its registration: the distributor
    looked for watches before this one was stored, so the re-read must catch it."""
    client.create("/race", b"0")
    store = storage(other)
    original = store.add_watch
    raced: list[int] = []

    def add_watch_after_a_write(record: WatchRecord) -> None:
        if not raced:
            raced.append(client.set_data("/race", b"1").stat.mzxid)
        original(record)

    store.add_watch = add_watch_after_a_write
    try:
        watch = Recorder()
        node = other.get_data("/race", watch=watch)
    finally:
        store.add_watch = original
    assert node.data == b"0"  # the version the watch was set on
    event = watch.next()
    assert (event.event_type, event.timestamp) == (Changed, raced[0])
    assert store.count_watches() == 0, "the raced registration must not stay behind"
    client.set_data("/race", b"2")
    assert watch.nothing()


def test_watch_is_not_fired_by_an_update_older_than_it(client):
    """Stored watches fire only on transactions after the counter they were set at."""
    store = storage(client)
    store.add_watch(WatchRecord("/n", WatchKind.DATA, "s-old", 5, "tcp://127.0.0.1:1"))
    store.add_watch(WatchRecord("/n", WatchKind.DATA, "s-new", 10, "tcp://127.0.0.1:2"))
    assert [w.session_id for w in store.triggered_watches("/n", [WatchKind.DATA], 8)] == ["s-old"]
    assert store.triggered_watches("/n", [WatchKind.DATA], 5) == []
    assert store.triggered_watches("/n", [WatchKind.EXISTS], 100) == []
    # A watch set again at a newer counter is kept when its older version fires.
    store.add_watch(WatchRecord("/n", WatchKind.DATA, "s-old", 9, "tcp://127.0.0.1:1"))
    store.remove_watches([WatchRecord("/n", WatchKind.DATA, "s-old", 5)])
    assert {(w.session_id, w.counter) for w in store.triggered_watches("/n", [WatchKind.DATA], 100)} == {
        ("s-old", 9),
        ("s-new", 10),
    }


def test_watch_before_data_with_slow_delivery(tmp_path, monkeypatch):
    """A client holding a watch never reads a change's data before the change's notification,
    even when delivery is held up; other clients read the data meanwhile."""
    delivering, delivered = threading.Event(), threading.Event()

    def held_up(point: str) -> None:
        if point == "watch.deliver":
            delivering.set()
            delivered.wait(SETTLE)

    monkeypatch.setattr(local_deployment, "process_faults", held_up)
    config = local_config(tmp_path)
    writer, watcher, bystander = (FaaSKeeperClient(config) for _ in range(3))
    for c in (writer, watcher, bystander):
        c.start()
    try:
        writer.create("/x", b"old")
        log: list[tuple[str, bytes | int]] = []
        watcher.get_data("/x", watch=lambda e: log.append(("event", e.timestamp)))
        write = writer.set_data_async("/x", b"new")
        assert delivering.wait(SETTLE), "the notification was never sent"
        # The data is applied before its notification goes out: the bystander, holding no
        # watch, reads it while the notification is held up.
        assert bystander.get_data("/x").data == b"new"
        # The watcher's read waits for its notification.
        reading = threading.Thread(target=read_in_turn, args=(watcher, "/x", log))
        reading.start()
        reading.join(0.1)
        assert log == [], "the watcher read the change before its notification arrived"
        delivered.set()
        reading.join(SETTLE)
        assert log == [("event", write.get(SETTLE).stat.mzxid), ("read", b"new")]
    finally:
        delivered.set()
        for c in (writer, watcher, bystander):
            c.stop()


def test_watch_before_data_for_children_reads(tmp_path, monkeypatch):
    def slow(point: str) -> None:
        if point == "watch.deliver":
            time.sleep(0.5)

    monkeypatch.setattr(local_deployment, "process_faults", slow)
    config = local_config(tmp_path)
    writer, watcher = FaaSKeeperClient(config), FaaSKeeperClient(config)
    writer.start()
    watcher.start()
    try:
        writer.create("/dir", b"")
        log: list[object] = []
        watcher.get_children("/dir", watch=lambda e: log.append("event"))
        writer.create_async("/dir/new", b"payload")
        deadline = time.monotonic() + SETTLE
        while True:
            # Reading the new child itself must also wait for the parent's children event.
            try:
                read_in_turn(watcher, "/dir/new", log)
            except NodeDoesntExistException:
                assert time.monotonic() < deadline
                continue
            break
        assert log == ["event", ("read", b"payload")]
    finally:
        writer.stop()
        watcher.stop()


def test_fired_and_session_watches_are_cleaned_up(client, config):
    watcher = FaaSKeeperClient(config)
    watcher.start()
    client.create("/clean", b"")
    recorder = Recorder()
    for _ in range(3):
        watcher.get_data("/clean", watch=recorder)
    watcher.exists("/nothing-here", watch=recorder)
    watcher.get_children("/clean", watch=recorder)
    assert storage(client).count_watches() == 3  # one per (path, kind, session)
    client.set_data("/clean", b"x")
    assert recorder.next().event_type is Changed
    assert recorder.nothing(), "a callback set three times is called once per notification (ZooKeeper's rule)"
    assert storage(client).count_watches() == 2
    watcher.stop()
    assert storage(client).count_watches() == 0


@pytest.mark.slow
def test_one_client_holding_ten_thousand_watches(client, other):
    nodes = 2500
    for f in [client.create_async(f"/m{i}", b"") for i in range(nodes)]:
        f.get(60)
    fired: list[WatchedEvent] = []
    lock = threading.Lock()

    def recorder() -> Callable[[WatchedEvent], None]:
        # One callback per kind: a callback set by several reads of a node is called once per notification.
        def record(event: WatchedEvent) -> None:
            with lock:
                fired.append(event)

        return record

    on_data, on_exists, on_children = recorder(), recorder(), recorder()
    for i in range(nodes):
        other.get_data(f"/m{i}", watch=on_data)
        other.exists(f"/m{i}", watch=on_exists)
        other.get_children(f"/m{i}", watch=on_children)
        other.exists(f"/absent{i}", watch=on_exists)
    assert storage(other).count_watches() == 4 * nodes
    futures = [client.delete_async(f"/m{i}") for i in range(nodes)]
    futures += [client.create_async(f"/absent{i}", b"") for i in range(nodes)]
    for f in futures:
        f.get(120)
    deadline = time.monotonic() + 30
    while len(fired) < 4 * nodes and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(fired) == 4 * nodes
    assert sum(e.event_type is Deleted for e in fired) == 3 * nodes
    assert sum(e.event_type is Created for e in fired) == nodes
    assert storage(other).count_watches() == 0


def test_client_ignores_a_notification_older_than_its_watch(client, other):
    """A redelivered or raced notification for a change the watch was set after does not fire it."""
    client.create("/stale", b"0")
    node = client.set_data("/stale", b"1")
    watch = Recorder()
    other.get_data("/stale", watch=watch)
    assert other._session is not None
    other._session.watches.notify("/stale", Changed, node.stat.mzxid)  # the change the watch already saw
    assert watch.nothing()
    newer = client.set_data("/stale", b"2")
    assert watch.next().timestamp == newer.stat.mzxid


def test_with_watch_fanout_0_every_notification_goes_through_the_watch_function(tmp_path, monkeypatch):
    """The watch function's request and report path, in process: each write that fires watches
    is one request naming each notified client once, and watch-before-data holds across it."""
    requests: list[dict] = []
    handle = WatchFunction.handle

    def spy(self: WatchFunction, payload: object) -> dict:
        requests.append(json.loads(json.dumps(payload)))
        return handle(self, payload)

    monkeypatch.setattr(WatchFunction, "handle", spy)
    raw = local_config(tmp_path).serialize()
    config = LocalProvider().deploy(Config.deserialize({**raw, "watch-fanout": 0}))
    writer, watcher = FaaSKeeperClient(config), FaaSKeeperClient(config)
    writer.start()
    watcher.start()
    try:
        writer.create("/f", b"old")
        mine, theirs = Recorder(), Recorder()
        writer.get_data("/f", watch=mine)
        watcher.get_data("/f", watch=theirs)
        watcher.get_children("/", watch=theirs)
        changed = writer.set_data("/f", b"new").stat.mzxid
        log: list[object] = []
        assert read_in_turn(watcher, "/f", log).data == b"new"
        # The read's callback ran after the watch callback: the event is there already.
        assert theirs.next(0) == mine.next() == WatchedEvent(Changed, "/f", changed)
        writer.delete("/f")
        event = theirs.next()
        assert (event.event_type, event.path) == (Children, "/")
        assert [(r["txn"], [c["events"] for c in r["clients"]]) for r in requests] == [
            (changed, [[{"path": "/f", "event": "NodeDataChanged"}]] * 2),
            (event.timestamp, [[{"path": "/", "event": "NodeChildrenChanged"}]]),
        ]
    finally:
        writer.stop()
        watcher.stop()
