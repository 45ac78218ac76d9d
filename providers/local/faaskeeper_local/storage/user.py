"""User storage in the deployment file: what clients read, one row per node."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from faaskeeper.api.storage import UserStorage
from faaskeeper.node import Footprint, Node, Stat, decode_metadata, encode_metadata
from faaskeeper_local.storage.database import Database


class LocalUserStorage(UserStorage):
    def __init__(self, db: Database) -> None:
        self._db = db

    def ensure_root(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO user_nodes VALUES ('/', x'', ?)", (encode_metadata(Stat(), ()),))

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        if with_data:
            rows = self._db.query("SELECT data, meta FROM user_nodes WHERE path = ?", (path,))
            return decode_metadata(path, bytes(rows[0][0]), rows[0][1]) if rows else None
        rows = self._db.query("SELECT meta FROM user_nodes WHERE path = ?", (path,))
        return decode_metadata(path, None, rows[0][0]) if rows else None

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        wanted = list(paths)
        found: dict[str, Node] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for path, data, meta in self._db.query(
                f"SELECT path, data, meta FROM user_nodes WHERE path IN ({marks})", tuple(chunk)
            ):
                found[path] = decode_metadata(path, bytes(data), meta)
        return [found.get(p) for p in wanted]

    def write(self, node: Node) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO user_nodes VALUES (?, ?, ?)",
                (
                    node.path,
                    node.data or b"",
                    encode_metadata(node.stat, node.children or (), node.epoch, node.footprint),
                ),
            )

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        meta = encode_metadata(stat, children, footprint=footprint)
        with self._db.transaction() as conn:
            conn.execute("UPDATE user_nodes SET meta = ? WHERE path = ?", (meta, path))

    def delete(self, path: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM user_nodes WHERE path = ?", (path,))
