"""User storage in the deployment file: what clients read, one row per node."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from faaskeeper.api.storage import UserStorage
from faaskeeper.node import Node, Stat
from faaskeeper_local.database import Database


def _meta(stat: Stat, children: Sequence[str], epoch: Iterable[str] = ()) -> str:
    return json.dumps({"stat": stat.to_dict(), "children": list(children), "epoch": sorted(epoch)})


def _node(path: str, data: bytes | None, meta: str) -> Node:
    parsed: dict[str, Any] = json.loads(meta)
    return Node(
        path=path,
        data=data,
        stat=Stat.from_dict(parsed["stat"]),
        children=list(parsed["children"]),
        epoch=frozenset(parsed.get("epoch", ())),
    )


class LocalUserStorage(UserStorage):
    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure_root(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO user_nodes VALUES ('/', x'', ?)", (_meta(Stat(), ()),))

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        if with_data:
            rows = self._db.query("SELECT data, meta FROM user_nodes WHERE path = ?", (path,))
            return _node(path, bytes(rows[0][0]), rows[0][1]) if rows else None
        rows = self._db.query("SELECT meta FROM user_nodes WHERE path = ?", (path,))
        return _node(path, None, rows[0][0]) if rows else None

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        wanted = list(paths)
        found: dict[str, Node] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for path, data, meta in self._db.query(
                f"SELECT path, data, meta FROM user_nodes WHERE path IN ({marks})", tuple(chunk)
            ):
                found[path] = _node(path, bytes(data), meta)
        return [found.get(p) for p in wanted]

    def write(self, node: Node) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO user_nodes VALUES (?, ?, ?)",
                (node.path, node.data or b"", _meta(node.stat, node.children or (), node.epoch)),
            )

    def update_metadata(self, path: str, stat: Stat, children: Sequence[str]) -> None:
        with self._db.transaction() as conn:
            conn.execute("UPDATE user_nodes SET meta = ? WHERE path = ?", (_meta(stat, children), path))

    def delete(self, path: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM user_nodes WHERE path = ?", (path,))
