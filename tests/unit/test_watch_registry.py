"""The client's watch registry: each callback once per notification, as ZooKeeper calls its
watchers, a watch set on a version a received notification already shows changed, and reads
that wait for the notifications they owe to arrive (not for their callbacks to run)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest

from faaskeeper.api.storage import NO_NODE, WatchKind
from faaskeeper.client.watches import TOLD_KEPT, Dispatch, WatchRegistry
from faaskeeper.exceptions import SessionExpiredException
from faaskeeper.node import Node, Stat
from faaskeeper.watch import WatchCallbackType, WatchedEvent, WatchEventType


def _registry() -> tuple[WatchRegistry, list[tuple[str, WatchedEvent]]]:
    """A registry whose callbacks run at once, and the (callback name, event) calls they made."""
    calls: list[tuple[str, WatchedEvent]] = []

    return WatchRegistry(_call_now), calls


def _call_now(callback: WatchCallbackType, event: WatchedEvent) -> None:
    callback(event)


def _queueing(queued: list[Callable[[], None]]) -> Dispatch:
    """A dispatch that queues each callback it is given, to be run later in order."""

    def dispatch(callback: WatchCallbackType, event: WatchedEvent) -> None:
        queued.append(lambda: callback(event))

    return dispatch


def _callback(name: str, calls: list[tuple[str, WatchedEvent]]) -> Callable[[WatchedEvent], None]:
    return lambda event: calls.append((name, event))


def _seen(calls: list[tuple[str, WatchedEvent]]) -> list[tuple[str, WatchEventType, int]]:
    return [(name, event.event_type, event.timestamp) for name, event in calls]


def test_a_callback_set_twice_is_called_once() -> None:
    registry, calls = _registry()
    callback = _callback("a", calls)
    assert registry.hold("/n", WatchKind.DATA, 5, callback) == 5
    assert registry.hold("/n", WatchKind.DATA, 7, callback) == 5, "held at the older version"
    registry.notify("/n", WatchEventType.NODE_DATA_CHANGED, 9)
    assert _seen(calls) == [("a", WatchEventType.NODE_DATA_CHANGED, 9)]


def test_one_callback_of_a_data_and_an_exists_watch_is_called_once_on_delete() -> None:
    registry, calls = _registry()
    callback, other = _callback("a", calls), _callback("b", calls)
    registry.hold("/n", WatchKind.DATA, 5, callback)
    registry.hold("/n", WatchKind.EXISTS, 5, callback)
    registry.hold("/n", WatchKind.EXISTS, 5, other)
    registry.notify("/n", WatchEventType.NODE_DELETED, 9)
    assert sorted(_seen(calls)) == [("a", WatchEventType.NODE_DELETED, 9), ("b", WatchEventType.NODE_DELETED, 9)]
    assert len(registry) == 0


def test_a_watch_set_on_a_version_a_notification_shows_changed_fires_at_once() -> None:
    registry, calls = _registry()
    callback, other = _callback("a", calls), _callback("b", calls)
    registry.hold("/n", WatchKind.DATA, 5, callback)
    # The read showed version 7; the notification of 9 arrived before the watch set on 7 was held.
    registry.notify("/n", WatchEventType.NODE_DATA_CHANGED, 9)
    assert registry.hold("/n", WatchKind.DATA, 7, callback) is None, "fired by the notification it already had"
    assert registry.hold("/n", WatchKind.DATA, 7, other) is None
    assert _seen(calls) == [("a", WatchEventType.NODE_DATA_CHANGED, 9), ("b", WatchEventType.NODE_DATA_CHANGED, 9)]
    assert len(registry) == 0
    assert registry.hold("/n", WatchKind.DATA, 9, callback) == 9, "a read showing the change holds a new watch"
    assert registry.hold("/m", WatchKind.DATA, 1, callback) == 1, "other nodes are untouched"
    assert registry.hold("/n", WatchKind.EXISTS, 7, callback) == 7, "and other kinds"


def test_an_exists_watch_on_a_missing_node_is_held_whatever_was_told() -> None:
    registry, calls = _registry()
    callback = _callback("a", calls)
    registry.hold("/n", WatchKind.EXISTS, 5, callback)
    registry.notify("/n", WatchEventType.NODE_DELETED, 9)
    # A read after the delete shows no node: nothing told since is known to be later.
    assert registry.hold("/n", WatchKind.EXISTS, NO_NODE, callback) == NO_NODE
    assert _seen(calls) == [("a", WatchEventType.NODE_DELETED, 9)]


def test_notifications_are_kept_only_as_long_as_a_read_can_take() -> None:
    calls: list[tuple[str, WatchedEvent]] = []
    now = [1000.0]
    registry = WatchRegistry(_call_now, clock=lambda: now[0])
    for i in range(3):
        registry.hold(f"/n{i}", WatchKind.DATA, 5, _callback("a", calls))
        registry.notify(f"/n{i}", WatchEventType.NODE_DATA_CHANGED, 9)
    now[0] += TOLD_KEPT + 1
    registry.hold("/late", WatchKind.DATA, 5, _callback("b", calls))
    registry.notify("/late", WatchEventType.NODE_DATA_CHANGED, 9)
    assert registry.hold("/n0", WatchKind.DATA, 7, _callback("c", calls)) == 7, "a notification long gone"
    assert registry.hold("/late", WatchKind.DATA, 7, _callback("c", calls)) is None
    assert len(registry) == 1


def _node(path: str, mzxid: int) -> Node:
    return Node(path, b"", Stat(czxid=1, mzxid=mzxid, pzxid=1))


def test_a_read_waits_for_a_notification_to_arrive_not_for_its_callbacks_to_run() -> None:
    """The callbacks of a notification may queue behind a slow, unrelated callback: a read that
    shows the change needs only the notification itself."""
    queued: list[Callable[[], None]] = []
    registry = WatchRegistry(_queueing(queued))
    calls: list[tuple[str, WatchedEvent]] = []
    registry.hold("/b", WatchKind.DATA, 5, _callback("b", calls))
    owed = registry.owed("/b", _node("/b", 9))
    assert owed, "a read showing version 9 owes the notification of the change after 5"
    registry.notify("/b", WatchEventType.NODE_DATA_CHANGED, 9)
    assert registry.wait_for(owed, 0.1) == [], "the notification arrived; its callback has not run"
    assert calls == []
    assert registry.owed("/b", _node("/b", 9)) == [], "nothing more is owed"
    for run in queued:
        run()
    assert _seen(calls) == [("b", WatchEventType.NODE_DATA_CHANGED, 9)]


def test_a_read_owing_a_notification_that_does_not_come_is_told_which() -> None:
    registry, _calls = _registry()
    registry.hold("/b", WatchKind.DATA, 5, lambda event: None)
    owed = registry.owed("/b", _node("/b", 9))
    assert registry.wait_for(owed, 0.05) == [("/b", WatchKind.DATA)]


def test_a_read_owing_a_notification_fails_when_the_session_ends_while_it_waits() -> None:
    """A session that expires drops its watches: the notification a read showed is due never
    comes, and the read must not return the change as if it had been told of it."""
    registry, _calls = _registry()
    registry.hold("/b", WatchKind.DATA, 5, lambda event: None)
    owed = registry.owed("/b", _node("/b", 9))
    ending = threading.Timer(0.05, registry.drop_all)
    ending.start()
    try:
        with pytest.raises(SessionExpiredException):
            registry.wait_for(owed, 30.0)
    finally:
        ending.join()
    with pytest.raises(SessionExpiredException):
        registry.owed("/b", _node("/b", 9))


def test_a_wait_ends_when_its_notification_arrives_though_a_new_watch_is_set_at_once() -> None:
    """Another read sets the same watch again right after the notification: the read that owed
    the notification does not wait for the next one."""
    registry, calls = _registry()
    callback = _callback("a", calls)
    registry.hold("/n", WatchKind.DATA, 5, callback)
    owed = registry.owed("/n", _node("/n", 9))
    registry.notify("/n", WatchEventType.NODE_DATA_CHANGED, 9)
    assert registry.hold("/n", WatchKind.DATA, 9, callback) == 9
    assert registry.wait_for(owed, 0.05) == []


def test_each_callback_of_a_notification_is_dispatched_on_its_own() -> None:
    """So that the callback thread reports and survives each failing callback, and the others
    of the same notification are still called."""
    queued: list[Callable[[], None]] = []
    registry = WatchRegistry(_queueing(queued))
    calls: list[tuple[str, WatchedEvent]] = []

    def fails(event: WatchedEvent) -> None:
        raise ValueError(event)

    registry.hold("/n", WatchKind.DATA, 5, fails)
    registry.hold("/n", WatchKind.DATA, 5, _callback("b", calls))
    registry.notify("/n", WatchEventType.NODE_DELETED, 9)
    for run in queued:
        with contextlib.suppress(ValueError):
            run()
    assert _seen(calls) == [("b", WatchEventType.NODE_DELETED, 9)]
