"""Watches as kazoo delivers them: FaaSKeeper's notifications routed to kazoo's watcher tables.

kazoo keeps, per node path, the set of functions to call on the next data event
(``client._data_watchers``, filled by get and exists) and on the next children event
(``client._child_watchers``, filled by get_children); an event empties the sets it fires, so a
function set several times on one path is called once, and kazoo's recipes (TreeCache) edit these
tables. FaaSKeeper's watches all call :meth:`WatchBridge.fire`, which empties the tables exactly as
kazoo's connection does on a server's event and hands each function a kazoo ``WatchedEvent`` on
kazoo's callback thread."""

from __future__ import annotations

from typing import Any

from kazoo.protocol.serialization import GetChildren, GetChildren2
from kazoo.protocol.states import Callback, WatchedEvent

from faaskeeper.kazoo.stat import EVENT_TYPES
from faaskeeper.watch import WatchCallbackType, WatchEventType
from faaskeeper.watch import WatchedEvent as FaaSKeeperEvent

_DATA_EVENTS = (WatchEventType.NODE_CREATED, WatchEventType.NODE_DATA_CHANGED)


class WatchBridge:
    """Registers the watch functions of a kazoo client's requests and delivers their events.

    :param client: the kazoo client whose watcher tables, handler, state and chroot are used
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def _table(self, request: Any) -> Any:
        client = self._client
        return client._child_watchers if isinstance(request, GetChildren | GetChildren2) else client._data_watchers

    def register(self, request: Any) -> WatchCallbackType | None:
        """Enter the request's watch function, if any, in kazoo's table before the read is sent
        (an event may come back before the read's answer); returns the FaaSKeeper watch to set."""
        watcher = getattr(request, "watcher", None)
        if watcher is None:
            return None
        self._table(request)[request.path].add(watcher)
        return self.fire

    def forget(self, request: Any) -> None:
        """The read failed, so no watch was set (as ZooKeeper sets none on a failed get)."""
        watcher = getattr(request, "watcher", None)
        if watcher is not None:
            watchers = self._table(request).get(request.path)
            if watchers is not None:
                watchers.discard(watcher)

    def fire(self, event: FaaSKeeperEvent) -> None:
        client = self._client
        path = event.path
        watchers: list[Any] = []
        if event.event_type in _DATA_EVENTS:
            watchers.extend(client._data_watchers.pop(path, ()))
        elif event.event_type is WatchEventType.NODE_DELETED:
            watchers.extend(client._data_watchers.pop(path, ()))
            watchers.extend(client._child_watchers.pop(path, ()))
        else:
            watchers.extend(client._child_watchers.pop(path, ()))
        if not watchers or client._stopped.is_set():
            return
        kazoo_event = WatchedEvent(EVENT_TYPES[event.event_type], client._state, client.unchroot(path))
        for watcher in watchers:
            client.handler.dispatch_callback(Callback("watch", watcher, (kazoo_event,)))
