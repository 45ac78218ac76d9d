"""User storage in a dict: per node its data, stat and children, copied in and out."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from faaskeeper.api.storage import UserStorage
from faaskeeper.node import Footprint, Node, Stat


@dataclass(frozen=True)
class _Stored:
    data: bytes
    stat: Stat
    children: tuple[str, ...]
    epoch: frozenset[str]
    footprint: Footprint | None = None


class MemoryUserStorage(UserStorage):
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._nodes: dict[str, _Stored] = {"/": _Stored(b"", Stat(), (), frozenset())}

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        with self._guard:
            stored = self._nodes.get(path)
        if stored is None:
            return None
        data = stored.data if with_data else None
        return Node(path, data, stored.stat, list(stored.children), stored.epoch, stored.footprint)

    def write(self, node: Node) -> None:
        stored = _Stored(
            bytes(node.data or b""), node.stat, tuple(node.children or ()), frozenset(node.epoch), node.footprint
        )
        with self._guard:
            self._nodes[node.path] = stored

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        with self._guard:
            stored = self._nodes.get(path)
            if stored is not None:
                self._nodes[path] = _Stored(stored.data, stat, tuple(children), stored.epoch, footprint)

    def delete(self, path: str) -> None:
        with self._guard:
            self._nodes.pop(path, None)
