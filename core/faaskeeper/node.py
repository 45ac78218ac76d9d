"""The node model: ZooKeeper's stat and the node objects returned to clients."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from faaskeeper.exceptions import MalformedInputException
from faaskeeper.version import EpochCounter, SystemCounter, Version


@dataclass(frozen=True)
class Stat:
    """ZooKeeper's per-node stat.

    ``czxid``/``mzxid``/``pzxid`` are transaction ids (the total order of writes);
    ``ctime``/``mtime`` are milliseconds since the epoch; ``ephemeral_owner`` is the owning
    session id, or ``None`` for a persistent node.
    """

    czxid: int = 0
    mzxid: int = 0
    pzxid: int = 0
    ctime: int = 0
    mtime: int = 0
    version: int = 0
    cversion: int = 0
    aversion: int = 0
    ephemeral_owner: str | None = None
    data_length: int = 0
    num_children: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _STAT_FIELDS}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Stat:
        return Stat(**{k: data[k] for k in _STAT_FIELDS if k in data})

    def updated(self, **changes: Any) -> Stat:
        return replace(self, **changes)


_STAT_FIELDS = tuple(Stat.__dataclass_fields__)


class NodeDataType(Enum):
    """The parts of a node a read can return (the upstream client's names)."""

    DATA = 0
    CREATED = 1
    MODIFIED = 2
    CHILDREN = 3


@dataclass(frozen=True)
class Footprint:
    """A write that changed several nodes in user storage, as each of them records it: its
    transaction id and its sentinel, the node among them that the distributor writes last.

    User storage is written node by node, so a reader that saw one of the nodes at ``txn`` knows
    the write is applied whole once the sentinel shows it (see
    ``faaskeeper.client.applied``)."""

    txn: int
    sentinel: str


#: The stat of a node whose stat was not read (a child listed without ``include_data``, a node
#: built by hand): ``has_created`` and ``has_modified`` are false for it.
NO_STAT = Stat()


@dataclass
class Node:
    """A node as a client sees it: path, data, children and stat.

    ``created.system`` and ``modified.system`` are the ordered counters of the upstream
    FaaSKeeper client: ``modified`` grows with every write to the node, ``created`` stays.
    ``has_data``, ``has_children``, ``has_created`` and ``has_modified`` say which parts the
    read that returned the node filled in.
    """

    path: str
    data: bytes | None = None
    stat: Stat = NO_STAT
    children: list[str] | None = None
    epoch: frozenset[str] = frozenset()
    #: The write that last changed this node and others with it, or None.
    footprint: Footprint | None = field(default=None, repr=False, compare=False)
    _created: Version | None = field(default=None, init=False, repr=False, compare=False)
    _modified: Version | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def has_data(self) -> bool:
        return self.data is not None

    @property
    def data_b64(self) -> str:
        """The data, base64-encoded; setting it sets the data."""
        if self.data is None:
            raise AttributeError(f"Node {self.path} was read without its data")
        return base64.b64encode(self.data).decode("ascii")

    @data_b64.setter
    def data_b64(self, data: str) -> None:
        try:
            self.data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError, TypeError) as err:
            raise MalformedInputException(f"data_b64 of {self.path} is not base64: {err}") from err

    @property
    def has_children(self) -> bool:
        return self.children is not None

    @property
    def has_created(self) -> bool:
        return self._created is not None or self.stat is not NO_STAT

    @property
    def has_modified(self) -> bool:
        return self._modified is not None or self.stat is not NO_STAT

    @property
    def created(self) -> Version:
        """The version that created the node (``system`` is its czxid)."""
        if self._created is not None:
            return self._created
        return Version(SystemCounter.from_raw_data([self.stat.czxid]))

    @created.setter
    def created(self, val: Version) -> None:
        self._created = val
        if self.stat is not NO_STAT:
            self.stat = self.stat.updated(czxid=val.system.sum)

    @property
    def modified(self) -> Version:
        """The node's last modification (``system`` is its mzxid, ``epoch`` the notifications in
        flight when it was written)."""
        if self._modified is not None:
            return self._modified
        return Version(SystemCounter.from_raw_data([self.stat.mzxid]), EpochCounter.from_raw_data(self.epoch))

    @modified.setter
    def modified(self, val: Version) -> None:
        self._modified = val
        if val.epoch is not None:
            self.epoch = frozenset(val.epoch.version)
        if self.stat is not NO_STAT:
            self.stat = self.stat.updated(mzxid=val.system.sum)

    @property
    def version(self) -> int:
        return self.stat.version

    @property
    def ephemeral(self) -> bool:
        return self.stat.ephemeral_owner is not None

    def serialize(self) -> dict[str, Any]:
        """The node as a JSON-ready dict: the upstream client's keys (``path``, ``data`` as
        ``str(bytes)`` when there is any, ``version`` with the counters that are known,
        ``children``) and ``stat``."""
        out: dict[str, Any] = {"path": self.path}
        if self.data:
            out["data"] = str(self.data)
        versions = {}
        if self.has_created:
            versions["created"] = self.created.serialize()
        if self.has_modified:
            versions["modified"] = self.modified.serialize()
        if versions:
            out["version"] = versions
        if self.children is not None:
            out["children"] = list(self.children)
        out["stat"] = self.stat.to_dict()
        return out


def encode_metadata(
    stat: Stat, children: Sequence[str], epoch: Iterable[str] = (), footprint: Footprint | None = None
) -> str:
    """A node's metadata as user storage keeps it beside the data: stat, children, epoch and the
    footprint of a write that changed other nodes with it, as JSON."""
    meta: dict[str, Any] = {"stat": stat.to_dict(), "children": list(children), "epoch": sorted(epoch)}
    if footprint is not None:
        meta["txn"] = [footprint.txn, footprint.sentinel]
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False)


def decode_metadata(path: str, data: bytes | None, metadata: str) -> Node:
    """The node whose metadata ``encode_metadata`` wrote, with ``data`` (None when not read)."""
    parsed: dict[str, Any] = json.loads(metadata)
    written = parsed.get("txn")
    return Node(
        path=path,
        data=data,
        stat=Stat.from_dict(parsed["stat"]),
        children=list(parsed["children"]),
        epoch=frozenset(parsed.get("epoch", ())),
        footprint=Footprint(int(written[0]), str(written[1])) if written else None,
    )
