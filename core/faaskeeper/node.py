"""The node model: ZooKeeper's stat and the node objects returned to clients."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

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


@dataclass
class Node:
    """A node as a client sees it: path, data, children and stat.

    ``created.system`` and ``modified.system`` are the ordered counters of the upstream
    FaaSKeeper client: ``modified`` grows with every write to the node, ``created`` stays.
    """

    path: str
    data: bytes | None = None
    stat: Stat = field(default_factory=Stat)
    children: list[str] | None = None
    epoch: frozenset[str] = frozenset()

    @property
    def created(self) -> Version:
        return Version(SystemCounter([self.stat.czxid]))

    @property
    def modified(self) -> Version:
        return Version(SystemCounter([self.stat.mzxid]), EpochCounter(self.epoch))

    @property
    def version(self) -> int:
        return self.stat.version

    @property
    def ephemeral(self) -> bool:
        return self.stat.ephemeral_owner is not None

    def serialize(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "stat": self.stat.to_dict()}
        out["version"] = {"created": self.created.serialize(), "modified": self.modified.serialize()}
        if self.children is not None:
            out["children"] = list(self.children)
        return out


def encode_metadata(stat: Stat, children: Sequence[str], epoch: Iterable[str] = ()) -> str:
    """A node's metadata as user storage keeps it beside the data: stat, children and epoch as JSON."""
    return json.dumps(
        {"stat": stat.to_dict(), "children": list(children), "epoch": sorted(epoch)},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def decode_metadata(path: str, data: bytes | None, metadata: str) -> Node:
    """The node whose metadata ``encode_metadata`` wrote, with ``data`` (None when not read)."""
    parsed: dict[str, Any] = json.loads(metadata)
    return Node(
        path=path,
        data=data,
        stat=Stat.from_dict(parsed["stat"]),
        children=list(parsed["children"]),
        epoch=frozenset(parsed.get("epoch", ())),
    )
