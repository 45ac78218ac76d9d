"""Watches as clients see them: one-shot callbacks receiving a WatchedEvent (ZooKeeper's model)."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from faaskeeper.api.storage import WatchKind


class WatchEventType(Enum):
    """ZooKeeper's org.apache.zookeeper.Watcher.Event.EventType."""

    NODE_CREATED = "NodeCreated"
    NODE_DELETED = "NodeDeleted"
    NODE_DATA_CHANGED = "NodeDataChanged"
    NODE_CHILDREN_CHANGED = "NodeChildrenChanged"

    def __str__(self) -> str:
        return self.value


#: The watch kinds each event fires.
FIRES: dict[WatchEventType, tuple[WatchKind, ...]] = {
    WatchEventType.NODE_CREATED: (WatchKind.EXISTS,),
    WatchEventType.NODE_DELETED: (WatchKind.DATA, WatchKind.EXISTS, WatchKind.CHILDREN),
    WatchEventType.NODE_DATA_CHANGED: (WatchKind.DATA, WatchKind.EXISTS),
    WatchEventType.NODE_CHILDREN_CHANGED: (WatchKind.CHILDREN,),
}


class WatchedEvent:
    """What a watch callback receives: the event type, the node's path and the transaction id
    (``timestamp``) of the change that fired it."""

    __slots__ = ("_event_type", "_path", "_timestamp")

    def __init__(self, event_type: WatchEventType, path: str, timestamp: int) -> None:
        self._event_type = event_type
        self._path = path
        self._timestamp = timestamp

    @property
    def event_type(self) -> WatchEventType:
        return self._event_type

    @property
    def type(self) -> str:
        """The event type's ZooKeeper name, as kazoo's ``WatchedEvent.type``."""
        return self._event_type.value

    @property
    def path(self) -> str:
        return self._path

    @property
    def timestamp(self) -> int:
        return self._timestamp

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WatchedEvent):
            return NotImplemented
        return (self._event_type, self._path, self._timestamp) == (other._event_type, other._path, other._timestamp)

    def __hash__(self) -> int:
        return hash((self._event_type, self._path, self._timestamp))

    def __repr__(self) -> str:
        return f"WatchedEvent({self._event_type.value}, {self._path!r}, {self._timestamp})"


WatchCallbackType = Callable[[WatchedEvent], None]
