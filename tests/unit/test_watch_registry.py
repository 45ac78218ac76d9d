"""The client's watch registry: each callback once per notification, as ZooKeeper calls its
watchers, and a watch set on a version a received notification already shows changed."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.storage import NO_NODE, WatchKind
from faaskeeper.client.watches import TOLD_KEPT, WatchRegistry
from faaskeeper.watch import WatchedEvent, WatchEventType


def _registry() -> tuple[WatchRegistry, list[tuple[str, WatchedEvent]]]:
    """A registry whose callbacks run at once, and the (callback name, event) calls they made."""
    calls: list[tuple[str, WatchedEvent]] = []

    def run(fn: Callable[[], None]) -> None:
        fn()

    return WatchRegistry(run), calls


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
    registry = WatchRegistry(lambda fn: fn(), clock=lambda: now[0])
    for i in range(3):
        registry.hold(f"/n{i}", WatchKind.DATA, 5, _callback("a", calls))
        registry.notify(f"/n{i}", WatchEventType.NODE_DATA_CHANGED, 9)
    now[0] += TOLD_KEPT + 1
    registry.hold("/late", WatchKind.DATA, 5, _callback("b", calls))
    registry.notify("/late", WatchEventType.NODE_DATA_CHANGED, 9)
    assert registry.hold("/n0", WatchKind.DATA, 7, _callback("c", calls)) == 7, "a notification long gone"
    assert registry.hold("/late", WatchKind.DATA, 7, _callback("c", calls)) is None
    assert len(registry) == 1
