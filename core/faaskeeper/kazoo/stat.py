"""FaaSKeeper's node stat and watch events in kazoo's types."""

from __future__ import annotations

import zlib
from typing import Any

from kazoo.protocol.states import EventType, ZnodeStat

from faaskeeper.node import Stat
from faaskeeper.watch import WatchEventType

#: kazoo's event type for each FaaSKeeper watch event.
EVENT_TYPES: dict[WatchEventType, str] = {
    WatchEventType.NODE_CREATED: EventType.CREATED,
    WatchEventType.NODE_DELETED: EventType.DELETED,
    WatchEventType.NODE_DATA_CHANGED: EventType.CHANGED,
    WatchEventType.NODE_CHILDREN_CHANGED: EventType.CHILD,
}


def session_number(session_id: str | None) -> int:
    """A FaaSKeeper session id (hex) as ZooKeeper's 64-bit session number; 0 for none."""
    if not session_id:
        return 0
    try:
        return int(session_id, 16) & 0xFFFF_FFFF_FFFF_FFFF
    except ValueError:
        return zlib.crc32(session_id.encode())


def znode_stat(stat: Stat) -> Any:
    """kazoo's ``ZnodeStat`` of a FaaSKeeper stat; ``ephemeralOwner`` is the owning session's number."""
    return ZnodeStat(
        czxid=stat.czxid,
        mzxid=stat.mzxid,
        ctime=stat.ctime,
        mtime=stat.mtime,
        version=stat.version,
        cversion=stat.cversion,
        aversion=stat.aversion,
        ephemeralOwner=session_number(stat.ephemeral_owner),
        dataLength=stat.data_length,
        numChildren=stat.num_children,
        pzxid=stat.pzxid,
    )
