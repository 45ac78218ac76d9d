"""Conformance of watches through the client: one-shot, fired by the right writes with the
right event, delivered before the data they announce can be read, and cleaned up; their
callbacks run in order on one thread that outlives whatever a callback raises, and a callback
that blocks holds up no read; a write that notifies more clients than the deployment's
``watch-fanout`` tells each of them once, through the watch function."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections.abc import Callable

import pytest

from faaskeeper.api.provider import Deployment
from faaskeeper.api.storage import SystemStorage
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.client.futures import Future
from faaskeeper.config import Config
from faaskeeper.node import Node
from faaskeeper.testing.fanout import Listen, check_fan_out
from faaskeeper.testing.fixtures import ConformanceFixtures
from faaskeeper.watch import WatchedEvent, WatchEventType

Factory = Callable[[], FaaSKeeperClient]


class Events:
    """A watch callback that keeps the events it receives."""

    def __init__(self) -> None:
        self.events: list[WatchedEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: WatchedEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait(self, count: int, timeout: float) -> list[WatchedEvent]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.events) >= count, timeout):
                raise AssertionError(f"expected {count} watch events within {timeout:g} s, got {self.events}")
            return list(self.events)


class WatchSuite(ConformanceFixtures):
    """get_data, exists and get_children watches, as ZooKeeper defines them."""

    def test_data_watch_fires_once(self, client_factory: Factory) -> None:
        watcher, writer = client_factory(), client_factory()
        writer.create("/w", b"0")
        first = Events()
        watcher.get_data("/w", watch=first)
        changed = writer.set_data("/w", b"1")
        assert first.wait(1, self.settle_timeout) == [
            WatchedEvent(WatchEventType.NODE_DATA_CHANGED, "/w", changed.stat.mzxid)
        ]
        writer.set_data("/w", b"2")
        second = Events()
        watcher.get_data("/w", watch=second)
        third = writer.set_data("/w", b"3")
        assert [e.timestamp for e in second.wait(1, self.settle_timeout)] == [third.stat.mzxid]
        assert len(first.events) == 1, "a watch fires once"

    def test_exists_watch_on_missing_node_fires_on_create(self, client_factory: Factory) -> None:
        watcher, writer = client_factory(), client_factory()
        events = Events()
        assert watcher.exists("/later", watch=events) is None
        created = writer.create("/later", b"x")
        assert events.wait(1, self.settle_timeout) == [
            WatchedEvent(WatchEventType.NODE_CREATED, "/later", created.stat.czxid)
        ]

    def test_children_watch_fires_on_children_only(self, client_factory: Factory) -> None:
        watcher, writer = client_factory(), client_factory()
        writer.create("/p")
        added = Events()
        watcher.get_children("/p", watch=added)
        writer.set_data("/p", b"not a child change")
        child = writer.create("/p/c")
        assert added.wait(1, self.settle_timeout) == [
            WatchedEvent(WatchEventType.NODE_CHILDREN_CHANGED, "/p", child.stat.czxid)
        ]
        removed = Events()
        assert [n.path for n in watcher.get_children("/p", watch=removed)] == ["/p/c"]
        writer.delete("/p/c")
        [event] = removed.wait(1, self.settle_timeout)
        assert (event.event_type, event.path) == (WatchEventType.NODE_CHILDREN_CHANGED, "/p")
        assert event.timestamp > child.stat.czxid

    def test_delete_fires_data_and_exists_watches(self, client_factory: Factory) -> None:
        watcher, writer = client_factory(), client_factory()
        writer.create("/gone", b"x")
        data, exists = Events(), Events()
        watcher.get_data("/gone", watch=data)
        watcher.exists("/gone", watch=exists)
        writer.delete("/gone")
        for events in (data, exists):
            [event] = events.wait(1, self.settle_timeout)
            assert (event.event_type, event.path) == (WatchEventType.NODE_DELETED, "/gone")

    def test_notification_comes_before_the_data(self, client_factory: Factory) -> None:
        """A read that shows a change waits for the change's notification: the notification's
        callback runs before the read's callbacks, even when it takes its time."""
        watcher, writer = client_factory(), client_factory()
        writer.create("/wbd", b"old")
        seen: list[object] = []
        read_logged = threading.Event()

        def slow(event: WatchedEvent) -> None:
            time.sleep(0.2)
            seen.append(event)

        def log_read(done: Future[Node]) -> None:
            seen.append(done.get().data)
            read_logged.set()

        watcher.get_data("/wbd", watch=slow)
        changed = writer.set_data("/wbd", b"new")
        read = watcher.get_data_async("/wbd")
        read.add_callback(log_read)
        assert read.get(self.client_timeout).data == b"new"
        assert read_logged.wait(self.settle_timeout), "the read's callback did not run"
        assert seen == [WatchedEvent(WatchEventType.NODE_DATA_CHANGED, "/wbd", changed.stat.mzxid), b"new"], (
            "the read's callback ran before the watch callback of the change it read"
        )

    def test_a_callback_raising_any_exception_leaves_later_callbacks_and_reads_working(
        self, client_factory: Factory
    ) -> None:
        """A callback calling sys.exit() or raising KeyboardInterrupt is logged and passed over:
        the callbacks after it run, and a read owing a notification gets it."""
        watcher, writer = client_factory(), client_factory()
        for path in ("/exits", "/interrupts", "/after"):
            writer.create(path, b"0")

        def exits(_event: WatchedEvent) -> None:
            sys.exit("a watch callback ended the program")

        def interrupts(_event: WatchedEvent) -> None:
            raise KeyboardInterrupt

        after = Events()
        watcher.get_data("/exits", watch=exits)
        watcher.get_data("/interrupts", watch=interrupts)
        watcher.get_data("/after", watch=after)
        writer.set_data("/exits", b"1")
        writer.set_data("/interrupts", b"1")
        changed = writer.set_data("/after", b"1")
        assert after.wait(1, self.settle_timeout) == [
            WatchedEvent(WatchEventType.NODE_DATA_CHANGED, "/after", changed.stat.mzxid)
        ]
        again = Events()
        watcher.get_data("/after", watch=again)
        changed = writer.set_data("/after", b"2")
        assert watcher.get_data("/after").data == b"2"
        assert [e.timestamp for e in again.wait(1, self.settle_timeout)] == [changed.stat.mzxid]

    def test_a_blocked_callback_holds_up_the_callbacks_after_it_but_no_read(self, client_factory: Factory) -> None:
        """Callbacks run one at a time, in order, so one that blocks holds up those after it; a
        read showing a change waits for the change's notification to arrive, not for its
        callback to run, so it returns meanwhile."""
        watcher, writer = client_factory(), client_factory()
        writer.create("/blocks", b"0")
        writer.create("/other", b"0")
        started, release = threading.Event(), threading.Event()
        ran: list[object] = []

        def blocks(event: WatchedEvent) -> None:
            started.set()
            release.wait(self.settle_timeout * 6)
            ran.append(event.path)

        watcher.get_data("/blocks", watch=blocks)
        watcher.get_data("/other", watch=lambda event: ran.append(event.path))
        try:
            writer.set_data("/blocks", b"1")
            assert started.wait(self.settle_timeout), "the watch on /blocks did not fire"
            writer.set_data("/other", b"1")
            read = watcher.get_data_async("/other")
            read.add_callback(lambda done: ran.append(done.get().data))
            assert read.get(self.client_timeout).data == b"1", "the read of /other waited for the blocked callback"
            assert ran == [], "a callback ran beside the blocked one"
        finally:
            release.set()
        deadline = time.monotonic() + self.settle_timeout
        while len(ran) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ran == ["/blocks", "/other", b"1"], "callbacks ran out of order"

    def test_a_watch_set_again_after_every_read_beside_a_writer_misses_no_change(self, client_factory: Factory) -> None:
        """A watcher reads with a data watch, again and again, while another client keeps
        changing the node: between any two reads that show different versions it was told of a
        change after the first (a read waits for a notification it is owed, and fails if none
        comes), and of each change once."""
        watcher, writer = client_factory(), client_factory()
        writer.create("/busy", b"0")
        events = Events()
        failed: list[BaseException] = []

        def write() -> None:
            try:
                for value in range(1, 31):
                    writer.set_data("/busy", str(value).encode())
            except BaseException as err:
                failed.append(err)

        writing = threading.Thread(target=write)
        writing.start()
        seen = [watcher.get_data("/busy", watch=events).stat.mzxid]
        while writing.is_alive():
            seen.append(watcher.get_data("/busy", watch=events).stat.mzxid)
        writing.join()
        assert not failed, failed
        seen.append(watcher.get_data("/busy", watch=events).stat.mzxid)
        # A read waits for the notifications it is owed to arrive, not for their callbacks to run:
        # a callback queued behind them on the callback thread runs once they all have.
        flushed = threading.Event()
        watcher.exists_async("/busy").add_callback(lambda _done: flushed.set())
        assert flushed.wait(self.settle_timeout), "the callback thread did not run the queued callbacks"
        told = [event.timestamp for event in events.events]
        assert len(told) == len(set(told)), f"a change was told twice: {told}"
        for before, after in itertools.pairwise(seen):
            if after != before:
                assert any(before < txn <= after for txn in told), f"no notification between {before} and {after}"

    def test_watches_are_removed_when_fired_or_closed(
        self, client_factory: Factory, system_storage: SystemStorage
    ) -> None:
        watcher, writer = client_factory(), client_factory()
        writer.create("/a")
        watcher.get_data("/a", watch=Events())
        watcher.get_children("/", watch=Events())
        assert system_storage.count_watches() == 2
        writer.set_data("/a", b"fires the data watch")
        assert system_storage.count_watches() == 1, "a fired watch is removed before the write completes"
        watcher.stop()
        assert system_storage.count_watches() == 0, "a closed session's watches are removed"

    def test_a_fan_out_tells_every_watcher_once_and_the_writer_before_its_reply(
        self, client_factory: Factory, fk_checked_config: Config, deployment: Deployment, listen: Listen
    ) -> None:
        watchers = max(1, fk_checked_config.watch_fanout)
        if watchers > 64:
            pytest.skip(f"watch-fanout is {watchers}: the test would start as many listeners")
        client_factory().create("/fan", b"0")  # its session keeps the functions running where clients host them
        fanned = check_fan_out(deployment, listen, "/fan", watchers, self.settle_timeout)
        assert fanned.clients > fk_checked_config.watch_fanout
