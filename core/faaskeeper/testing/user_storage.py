"""Conformance of :class:`~faaskeeper.api.storage.UserStorage`: what clients read, one node at a time."""

from __future__ import annotations

from faaskeeper.api.storage import UserStorage
from faaskeeper.node import Node, Stat
from faaskeeper.testing.fixtures import ConformanceFixtures

ALL_BYTES = bytes(range(256)) * 4


def _stat(**fields: int | str | None) -> Stat:
    base = Stat(czxid=11, mzxid=12, pzxid=13, ctime=1700000000123, mtime=1700000000456, version=2)
    return base.updated(**fields)


class UserStorageSuite(ConformanceFixtures):
    """UserStorage: data, stat and children stored together, read back exactly as written."""

    def test_fresh_deployment_has_an_empty_root(self, user_storage: UserStorage) -> None:
        root = user_storage.read("/")
        assert root is not None, "clients read the root's children from user storage"
        assert root.path == "/"
        assert root.children == []
        assert user_storage.read("/missing") is None

    def test_write_then_read(self, user_storage: UserStorage) -> None:
        stat = _stat(data_length=len(ALL_BYTES), num_children=2, ephemeral_owner="session-1")
        written = Node("/a", ALL_BYTES, stat, ["x", "y"])
        user_storage.write(written)
        node = user_storage.read("/a")
        assert node is not None
        assert node.path == "/a"
        assert node.data == ALL_BYTES
        assert node.stat == stat
        assert node.children == ["x", "y"]
        assert written.children is not None
        written.children.append("z")
        assert node.children is not None
        node.children.append("w")
        again = user_storage.read("/a")
        assert again is not None
        assert again.children == ["x", "y"], "nodes are values: changing an object passed in or out changes nothing"

    def test_read_without_data_has_metadata(self, user_storage: UserStorage) -> None:
        stat = _stat(data_length=5, num_children=1)
        user_storage.write(Node("/a", b"hello", stat, ["c"]))
        node = user_storage.read("/a", with_data=False)
        assert node is not None
        assert node.stat == stat
        assert node.children == ["c"]
        assert node.data in (None, b"hello")

    def test_empty_data_is_not_missing(self, user_storage: UserStorage) -> None:
        user_storage.write(Node("/empty", b"", _stat(), []))
        node = user_storage.read("/empty")
        assert node is not None
        assert node.data == b""

    def test_write_replaces(self, user_storage: UserStorage) -> None:
        user_storage.write(Node("/a", b"first", _stat(version=0), ["old"]))
        user_storage.write(Node("/a", b"second", _stat(version=1), []))
        node = user_storage.read("/a")
        assert node is not None
        assert node.data == b"second"
        assert node.stat.version == 1
        assert node.children == []

    def test_update_metadata_keeps_data(self, user_storage: UserStorage) -> None:
        user_storage.write(Node("/a", b"payload", _stat(num_children=0), []))
        stat = _stat(num_children=2, cversion=2, pzxid=40)
        user_storage.update_metadata("/a", stat, ["b", "c"])
        node = user_storage.read("/a")
        assert node is not None
        assert node.data == b"payload"
        assert node.stat == stat
        assert node.children == ["b", "c"]

    def test_delete_removes_only_that_node(self, user_storage: UserStorage) -> None:
        user_storage.write(Node("/a", b"x", _stat(), []))
        user_storage.write(Node("/b", b"y", _stat(), []))
        user_storage.delete("/a")
        user_storage.delete("/never-written")
        assert user_storage.read("/a") is None
        kept = user_storage.read("/b")
        assert kept is not None
        assert kept.data == b"y"

    def test_read_many_keeps_order_and_gaps(self, user_storage: UserStorage) -> None:
        for name in ("c", "a", "b"):
            user_storage.write(Node(f"/{name}", name.encode(), _stat(), []))
        found = user_storage.read_many(["/b", "/missing", "/a", "/c"])
        assert [n.path if n is not None else None for n in found] == ["/b", None, "/a", "/c"]
        assert [n.data for n in found if n is not None] == [b"b", b"a", b"c"]
        assert user_storage.read_many([]) == []

    def test_paths_are_exact_keys(self, user_storage: UserStorage) -> None:
        paths = ["/ünïcödé-ß", "/a b", "/a/b", "/a%2Fb", "/A", "/a.b", "/a-b_c:d"]
        for index, path in enumerate(paths):
            user_storage.write(Node(path, str(index).encode(), _stat(), []))
        for index, path in enumerate(paths):
            node = user_storage.read(path)
            assert node is not None, path
            assert node.data == str(index).encode(), f"{path} collides with another path"
        assert user_storage.read("/a") is None, "writing /a/b must not create /a"
