"""Conformance of the whole write protocol, through :class:`~faaskeeper.client.FaaSKeeperClient`:
ZooKeeper's operations, their results and their errors, one session at a time."""

from __future__ import annotations

import os
import time

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.exceptions import (
    BadVersionError,
    NoChildrenForEphemeralsException,
    NodeDoesntExistException,
    NodeExistsException,
    NotEmptyException,
)
from faaskeeper.node import Node
from faaskeeper.testing.fixtures import ConformanceFixtures


def _paths(nodes: list[Node]) -> list[str]:
    return [n.path for n in nodes]


def _exists(client: FaaSKeeperClient, path: str) -> Node:
    node = client.exists(path)
    assert node is not None, f"{path} should exist"
    return node


class ClientSuite(ConformanceFixtures):
    """create, get_data, exists, get_children, set_data and delete, as ZooKeeper defines them."""

    def test_create_then_read(self, client: FaaSKeeperClient) -> None:
        created = client.create("/node", b"payload")
        assert created.path == "/node"
        stat = created.stat
        assert stat.czxid > 0
        assert stat.czxid == stat.mzxid == stat.pzxid
        assert (stat.version, stat.cversion, stat.num_children) == (0, 0, 0)
        assert stat.data_length == len(b"payload")
        assert stat.ephemeral_owner is None
        assert stat.ctime == stat.mtime
        assert abs(stat.ctime / 1000 - time.time()) < 600, "ctime is in milliseconds since the epoch"
        node = client.get_data("/node")
        assert node.data == b"payload"
        assert node.stat == stat, "the reply's stat is the stored one"
        assert _exists(client, "/node").stat == stat
        assert client.get_children("/node") == []

    def test_create_updates_the_parent(self, client: FaaSKeeperClient) -> None:
        parent = client.create("/p")
        client.create("/p/b")
        last = client.create("/p/a")
        stat = _exists(client, "/p").stat
        assert stat.num_children == 2
        assert stat.cversion == 2
        assert stat.pzxid == last.stat.czxid
        assert stat.version == 0, "a child's creation is not a data change"
        assert stat.mzxid == parent.stat.mzxid
        assert _paths(client.get_children("/p")) == ["/p/a", "/p/b"], "children come in name order"
        assert _paths(client.get_children("/")) == ["/p"]

    def test_get_children_with_data(self, client: FaaSKeeperClient) -> None:
        client.create("/p")
        client.create("/p/y", b"Y")
        client.create("/p/x", b"X")
        children = client.get_children("/p", include_data=True)
        assert [(n.path, n.data) for n in children] == [("/p/x", b"X"), ("/p/y", b"Y")]
        assert all(n.stat.czxid > 0 for n in children)

    def test_create_existing_fails(self, client: FaaSKeeperClient) -> None:
        first = client.create("/dup", b"first")
        with pytest.raises(NodeExistsException):
            client.create("/dup", b"second")
        node = client.get_data("/dup")
        assert node.data == b"first"
        assert node.stat == first.stat

    def test_create_without_parent_fails(self, client: FaaSKeeperClient) -> None:
        with pytest.raises(NodeDoesntExistException):
            client.create("/no/parent")
        assert client.exists("/no") is None
        assert client.exists("/no/parent") is None
        assert client.get_children("/") == []

    def test_missing_node(self, client: FaaSKeeperClient) -> None:
        assert client.exists("/missing") is None
        with pytest.raises(NodeDoesntExistException):
            client.get_data("/missing")
        with pytest.raises(NodeDoesntExistException):
            client.get_children("/missing")
        with pytest.raises(NodeDoesntExistException):
            client.set_data("/missing", b"x")
        with pytest.raises(NodeDoesntExistException):
            client.delete("/missing")
        assert client.exists("/missing") is None
        assert client.create("/after").path == "/after", "failed writes leave the session usable"

    def test_set_data(self, client: FaaSKeeperClient) -> None:
        created = client.create("/n", b"v0")
        updated = client.set_data("/n", b"value-1")
        stat = updated.stat
        assert stat.version == 1
        assert stat.czxid == created.stat.czxid
        assert stat.mzxid > created.stat.mzxid
        assert stat.pzxid == created.stat.pzxid
        assert stat.data_length == len(b"value-1")
        assert stat.mtime >= stat.ctime
        node = client.get_data("/n")
        assert node.data == b"value-1"
        assert node.stat == stat
        emptied = client.set_data("/n", b"", version=1)
        assert emptied.stat.version == 2
        assert client.get_data("/n").data == b""

    def test_set_data_checks_the_version(self, client: FaaSKeeperClient) -> None:
        client.create("/n", b"v0")
        with pytest.raises(BadVersionError):
            client.set_data("/n", b"x", version=3)
        node = client.get_data("/n")
        assert (node.data, node.stat.version) == (b"v0", 0), "a refused write changes nothing"
        assert client.set_data("/n", b"v1", version=0).stat.version == 1
        with pytest.raises(BadVersionError):
            client.set_data("/n", b"v2", version=0)
        assert client.get_data("/n").data == b"v1"

    def test_delete_node(self, client: FaaSKeeperClient) -> None:
        client.create("/p")
        old = client.create("/p/a", b"x")
        client.create("/p/b")
        before = _exists(client, "/p").stat
        client.delete("/p/a")
        assert client.exists("/p/a") is None
        with pytest.raises(NodeDoesntExistException):
            client.get_data("/p/a")
        after = _exists(client, "/p").stat
        assert after.num_children == 1
        assert after.cversion == before.cversion + 1
        assert after.pzxid > before.pzxid
        assert _paths(client.get_children("/p")) == ["/p/b"]
        again = client.create("/p/a", b"new")
        assert again.stat.czxid > old.stat.czxid
        assert again.stat.version == 0, "a recreated node starts over"
        assert client.get_data("/p/a").data == b"new"

    def test_delete_checks_the_version(self, client: FaaSKeeperClient) -> None:
        client.create("/n")
        client.set_data("/n", b"x")
        with pytest.raises(BadVersionError):
            client.delete("/n", version=0)
        assert client.exists("/n") is not None
        client.delete("/n", version=1)
        assert client.exists("/n") is None

    def test_delete_with_children_fails(self, client: FaaSKeeperClient) -> None:
        client.create("/p")
        client.create("/p/c")
        with pytest.raises(NotEmptyException):
            client.delete("/p")
        assert client.exists("/p") is not None
        assert client.exists("/p/c") is not None
        client.delete("/p/c")
        client.delete("/p")
        assert client.get_children("/") == []

    def test_sequential_nodes(self, client: FaaSKeeperClient) -> None:
        client.create("/q")
        names = [client.create("/q/item-", str(i).encode(), sequential=True).path for i in range(3)]
        assert names == ["/q/item-0000000000", "/q/item-0000000001", "/q/item-0000000002"]
        assert _paths(client.get_children("/q")) == names
        assert client.get_data(names[1]).data == b"1"
        client.create("/q/plain")
        client.delete(names[2])
        other = client.create("/q/other-", sequential=True).path
        assert other.startswith("/q/other-")
        assert len(other) == len("/q/other-") + 10
        assert int(other[-10:]) > 2, "the parent's counter is shared by every prefix and never reused"
        last = client.create("/q/item-", sequential=True).path
        assert int(last[-10:]) > int(other[-10:])
        assert last not in names

    def test_ephemeral_nodes_have_no_children(self, client: FaaSKeeperClient) -> None:
        node = client.create("/eph", ephemeral=True)
        assert node.stat.ephemeral_owner == client.session_id
        with pytest.raises(NoChildrenForEphemeralsException):
            client.create("/eph/child")
        with pytest.raises(NoChildrenForEphemeralsException):
            client.create("/eph/seq-", sequential=True)
        assert client.get_children("/eph") == []
        stat = _exists(client, "/eph").stat
        assert (stat.num_children, stat.cversion) == (0, 0)

    def test_data_is_stored_exactly(self, client: FaaSKeeperClient) -> None:
        size = min(64 * 1024, client.config.max_data_size)
        blob = os.urandom(size)
        client.create("/blob", blob)
        assert client.get_data("/blob").data == blob
        every_byte = bytes(range(256))
        client.set_data("/blob", every_byte)
        assert client.get_data("/blob").data == every_byte
        odd = "/ünïcödé ß:é-%2F"
        client.create(odd, b"odd")
        assert client.get_data(odd).data == b"odd"
        assert _paths(client.get_children("/")) == ["/blob", odd]
