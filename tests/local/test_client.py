"""The client API and ZooKeeper's semantics, end to end on the local provider."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.exceptions import (
    BadVersionError,
    MalformedInputException,
    NoChildrenForEphemeralsException,
    NodeDoesntExistException,
    NodeExistsException,
    NotEmptyException,
    SessionExpiredException,
    TimeoutException,
)


def test_session_lifecycle(config):
    c = FaaSKeeperClient(config)
    assert c.session_status == "DISCONNECTED"
    assert c.session_id is None
    session = c.start()
    assert c.session_id == session
    assert c.session_status == "CONNECTED"
    c.stop()
    assert c.session_status == "DISCONNECTED"
    with pytest.raises(SessionExpiredException):
        c.create("/a")


def test_stop_without_waiting_releases_the_connection_and_the_service_closes_the_session_later(config, other):
    owner = FaaSKeeperClient(config, timeout=20)
    owner.start()
    owner.create("/e", b"", ephemeral=True)

    # TimeoutException if the service had not answered yet: the connection is released all the same.
    with contextlib.suppress(TimeoutException):
        owner.stop(timeout=0)

    assert owner.session_status == "DISCONNECTED"
    assert owner.session_id is None
    with pytest.raises(SessionExpiredException):
        owner.create("/a")
    # The request to close the session was sent: the service processes it, and the node goes
    # (well before the session could expire: 3 heartbeats of 5 s).
    deadline = time.monotonic() + 10
    while other.exists("/e") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert other.exists("/e") is None


def test_create_get_set_delete(client):
    created = client.create("/a", b"one")
    assert created.path == "/a"
    assert created.stat.version == 0
    assert created.stat.data_length == 3
    got = client.get_data("/a")
    assert got.data == b"one"
    assert got.created.system == created.created.system
    assert got.modified.system == created.modified.system

    updated = client.set_data("/a", b"two")
    assert updated.stat.version == 1
    assert updated.created.system == created.created.system
    assert updated.modified.system > created.modified.system
    assert client.get_data("/a").data == b"two"

    assert client.delete("/a") is None
    assert client.exists("/a") is None
    with pytest.raises(NodeDoesntExistException):
        client.get_data("/a")


def test_stat_fields(client):
    parent = client.create("/p", b"")
    child = client.create("/p/c", b"xyz")
    stat = client.exists("/p").stat
    assert stat.num_children == 1
    assert stat.cversion == 1
    assert stat.pzxid == child.stat.czxid
    assert stat.czxid == parent.stat.czxid
    assert stat.mzxid == parent.stat.mzxid  # a child does not modify the parent's data
    assert stat.ephemeral_owner is None
    assert child.stat.czxid == child.stat.mzxid == child.stat.pzxid
    assert child.stat.ctime == child.stat.mtime > 0
    client.set_data("/p/c", b"1234")
    c = client.exists("/p/c").stat
    assert c.data_length == 4
    assert c.mtime >= c.ctime
    assert c.mzxid > c.czxid
    client.delete("/p/c")
    after = client.exists("/p").stat
    assert after.num_children == 0
    assert after.cversion == 2
    assert after.pzxid > stat.pzxid


def test_transaction_ids_totally_order_writes(client):
    ids = [client.create(f"/n{i}").stat.czxid for i in range(5)]
    ids.append(client.set_data("/n0", b"x").stat.mzxid)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_errors(client):
    client.create("/a", b"")
    with pytest.raises(NodeExistsException):
        client.create("/a")
    with pytest.raises(NodeExistsException):
        client.create("/")
    with pytest.raises(NodeDoesntExistException):
        client.create("/missing/child")
    with pytest.raises(NodeDoesntExistException):
        client.set_data("/missing", b"")
    with pytest.raises(NodeDoesntExistException):
        client.delete("/missing")
    with pytest.raises(NodeDoesntExistException):
        client.get_children("/missing")
    client.create("/a/b")
    with pytest.raises(NotEmptyException):
        client.delete("/a")
    assert client.exists("/a") is not None


def test_versions(client):
    client.create("/v", b"0")
    client.set_data("/v", b"1", version=0)
    with pytest.raises(BadVersionError):
        client.set_data("/v", b"x", version=0)
    assert client.get_data("/v").data == b"1"
    with pytest.raises(BadVersionError):
        client.delete("/v", version=5)
    assert client.exists("/v") is not None
    client.delete("/v", version=1)
    assert client.exists("/v") is None


def test_sequential_nodes_use_parent_cversion(client):
    client.create("/q")
    first = client.create("/q/item-", b"", sequential=True)
    second = client.create("/q/item-", b"", sequential=True)
    client.create("/q/plain")
    third = client.create("/q/item-", b"", sequential=True)
    assert first.path == "/q/item-0000000000"
    assert second.path == "/q/item-0000000001"
    assert third.path == "/q/item-0000000003"
    client.delete(second.path)
    fourth = client.create("/q/item-", b"", sequential=True)
    assert fourth.path == "/q/item-0000000005"


def test_ephemeral_nodes(config, other):
    owner = FaaSKeeperClient(config)
    owner.start()
    node = owner.create("/e", b"", ephemeral=True)
    assert node.stat.ephemeral_owner == owner.session_id
    assert other.exists("/e").stat.ephemeral_owner == owner.session_id
    with pytest.raises(NoChildrenForEphemeralsException):
        owner.create("/e/child")
    with pytest.raises(NoChildrenForEphemeralsException):
        other.create("/e/child")
    owner.create("/persistent", b"")
    owner.stop()
    assert other.exists("/e") is None
    assert other.exists("/persistent") is not None
    assert [n.path for n in other.get_children("/")] == ["/persistent"]


def test_get_children_in_name_order(client):
    client.create("/d")
    for name in ["zeta", "alpha", "mid", "Beta"]:
        client.create(f"/d/{name}", name.encode())
    names = [n.path for n in client.get_children("/d")]
    assert names == ["/d/Beta", "/d/alpha", "/d/mid", "/d/zeta"]
    with_data = client.get_children("/d", include_data=True)
    assert [n.data for n in with_data] == [b"Beta", b"alpha", b"mid", b"zeta"]
    assert all(n.stat.czxid > 0 for n in with_data)


def test_root(client):
    root = client.exists("/")
    assert root is not None
    with pytest.raises(MalformedInputException):
        client.delete("/")
    client.set_data("/", b"root data")
    assert client.get_data("/").data == b"root data"


@pytest.mark.parametrize("path", ["a", "/a/", "", "/a//b", "/a/./b", "/a/../b", "/a\x00", "/a\x01b"])
def test_malformed_paths_write_nothing(client, path):
    for call in (
        lambda: client.create(path, b""),
        lambda: client.set_data(path, b""),
        lambda: client.delete(path),
        lambda: client.get_data(path),
        lambda: client.exists(path),
        lambda: client.get_children(path),
    ):
        with pytest.raises(MalformedInputException):
            call()
    assert client.get_children("/") == []


@pytest.mark.parametrize("value", ["text", 5, None, bytearray(b"x"), ["b"]])
def test_values_must_be_bytes(client, value):
    with pytest.raises(MalformedInputException, match="must be bytes"):
        client.create("/x", value)
    client.create("/y", b"")
    with pytest.raises(MalformedInputException, match="must be bytes"):
        client.set_data("/y", value)
    assert client.exists("/x") is None
    assert client.get_data("/y").data == b""


def test_data_limit(client, tmp_path):
    limit = 1024 * 1024
    client.create("/big", b"x" * limit)
    assert len(client.get_data("/big").data) == limit
    with pytest.raises(MalformedInputException, match="exceeds the limit"):
        client.create("/bigger", b"x" * (limit + 1))
    with pytest.raises(MalformedInputException, match="exceeds the limit"):
        client.set_data("/big", b"x" * (limit + 1))
    assert client.exists("/bigger") is None
    assert len(client.get_data("/big").data) == limit


def test_bad_version_argument(client):
    client.create("/v")
    for bad in ("1", 1.0, -2, True):
        with pytest.raises(MalformedInputException, match="version"):
            client.set_data("/v", b"", version=bad)


def test_async_operations_complete_in_issue_order(client):
    client.create("/o", b"")
    order: list[int] = []
    lock = threading.Lock()

    def record(i):
        def callback(_future):
            with lock:
                order.append(i)

        return callback

    futures = []
    for i in range(30):
        if i % 3 == 0:
            f = client.set_data_async("/o", str(i).encode())
        elif i % 3 == 1:
            f = client.create_async("/o/c", b"")  # succeeds the first time, then NodeExists
        else:
            f = client.get_data_async("/o")
        f.add_callback(record(i))
        futures.append(f)
    results = []
    for i, f in enumerate(futures):
        ok = f.wait(20)
        results.append(ok)
        if i % 3 == 2:
            # read-your-writes: each read sees the set_data issued just before it
            assert f.get().data == str(i - 2).encode()
    assert results[1] is True
    assert all(results[i] is False for i in range(4, 30, 3))
    for _ in range(200):
        with lock:
            if len(order) == 30:
                break
        threading.Event().wait(0.01)
    assert order == list(range(30))


def test_future_api(client):
    f = client.create_async("/f", b"data")
    assert f.wait(10) is True
    assert f.done()
    assert f.get().path == "/f"
    g = client.create_async("/f", b"data")
    assert g.wait(10) is False
    with pytest.raises(NodeExistsException):
        g.get()
    seen = []
    done = threading.Event()

    def cb(fut):
        seen.append(fut.done())
        done.set()

    client.exists_async("/f").add_callback(cb)
    assert done.wait(5)
    assert seen == [True]


def test_reads_see_own_writes_immediately(client):
    for i in range(20):
        client.set_data_async("/", str(i).encode())
        assert client.get_data("/").data == str(i).encode()


def test_two_clients_see_each_other(client, other):
    client.create("/shared", b"from client")
    assert other.get_data("/shared").data == b"from client"
    other.set_data("/shared", b"from other")
    assert client.get_data("/shared").data == b"from other"


def test_many_clients_writing_one_node_all_finish(config, client):
    client.create("/hot", b"")
    writers = [FaaSKeeperClient(config, timeout=30) for _ in range(6)]
    for w in writers:
        w.start()
    errors: list[BaseException] = []

    def hammer(c: FaaSKeeperClient) -> None:
        try:
            for i in range(15):
                c.set_data("/hot", str(i).encode())
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=hammer, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for w in writers:
        w.stop()
    assert errors == []
    assert client.exists("/hot").stat.version == 6 * 15
