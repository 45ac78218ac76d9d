"""Watches as clients see them: one-shot callbacks receiving a WatchedEvent (ZooKeeper's model)."""

from __future__ import annotations

import threading
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

    @classmethod
    def _missing_(cls, value: object) -> WatchEventType | None:
        """The upstream client's numbers (0 created, 1 deleted, 2 data changed, 3 children changed)."""
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(_ORDER):
            return _ORDER[value]
        return None


#: The upstream client's numbering of the event types.
_ORDER = tuple(WatchEventType)


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


class WatchType(Enum):
    """The read a watch was set by (the upstream client's names for the watch kinds)."""

    GET_DATA = 0
    EXISTS = 1
    GET_CHILDREN = 2

    @property
    def kind(self) -> WatchKind:
        """The watch kind of the storage interfaces."""
        return _KINDS[self]

    @staticmethod
    def of(kind: WatchKind) -> WatchType:
        return {k: t for t, k in _KINDS.items()}[kind]

    def fired_by(self, event_type: WatchEventType) -> bool:
        """Whether an event of ``event_type`` fires a watch of this type."""
        return self.kind in FIRES[event_type]


_KINDS = {
    WatchType.GET_DATA: WatchKind.DATA,
    WatchType.EXISTS: WatchKind.EXISTS,
    WatchType.GET_CHILDREN: WatchKind.CHILDREN,
}


class Watch:
    """A one-shot watch: its type, the node version (``timestamp``) it was set on, and its callback.

    ``generate_message(event)`` delivers an event to the callback, once: a watch fires one time,
    so a second event is ignored (``fired`` says whether it has fired).
    """

    def __init__(self, timestamp: int, watch_type: WatchType, callback: WatchCallbackType) -> None:
        self._timestamp = timestamp
        self._watch_type = watch_type
        self._callback = callback
        self._fired = False
        self._guard = threading.Lock()

    def generate_message(self, event: WatchedEvent) -> None:
        with self._guard:
            if self._fired:
                return
            self._fired = True
        self._callback(event)

    @property
    def fired(self) -> bool:
        return self._fired

    @property
    def watch_type(self) -> WatchType:
        return self._watch_type

    @property
    def timestamp(self) -> int:
        return self._timestamp

    @property
    def callback(self) -> WatchCallbackType:
        return self._callback

    def __repr__(self) -> str:
        return f"Watch({self._timestamp}, {self._watch_type}, {self._callback!r})"
