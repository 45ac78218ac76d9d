"""faaskeeper.kazoo.KazooClient beside kazoo's own tests: what is FaaSKeeper's own (config, chroot
key, ACLs, the mapping of stats, errors, watches and session states)."""

from __future__ import annotations

import json
import queue
import threading

import pytest
from kazoo.exceptions import (
    BadVersionError,
    ConfigurationError,
    ConnectionClosedError,
    InvalidACLError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    SystemZookeeperError,
    UnimplementedError,
)
from kazoo.protocol.connection import _CONNECTION_DROP, _SESSION_EXPIRED
from kazoo.protocol.states import Callback, EventType, KazooState, KeeperState, WatchedEvent, ZnodeStat
from kazoo.security import OPEN_ACL_UNSAFE, make_digest_acl

from faaskeeper.kazoo import KazooClient
from faaskeeper.kazoo.stat import session_number

SETTLE = 30.0


def test_a_config_file_and_its_chroot_key(tmp_path, config):
    data = config.serialize()
    data["chroot"] = "/apps/one"
    path = tmp_path / "client.json"
    path.write_text(json.dumps(data))
    outside = KazooClient(config)
    inside = KazooClient(str(path))
    outside.start()
    inside.start()
    try:
        outside.ensure_path("/apps/one")
        events: queue.Queue[WatchedEvent] = queue.Queue()
        assert inside.exists("/node", watch=events.put) is None
        assert inside.create("/node", b"v") == "/node"
        assert outside.get("/apps/one/node")[0] == b"v"
        assert events.get(timeout=SETTLE) == WatchedEvent(EventType.CREATED, KeeperState.CONNECTED, "/node")
        assert inside.get_children("/") == ["node"]
    finally:
        inside.stop()
        outside.stop()


def test_hosts_and_session_resumption_are_refused(config):
    with pytest.raises(ConfigurationError, match="client_id"):
        KazooClient(config, client_id=(1, b"x" * 16))
    with pytest.raises(ConfigurationError, match="takes a FaaSKeeper client config"):
        KazooClient("127.0.0.1:2181")  # not a config file
    client = KazooClient(config)
    with pytest.raises(ConfigurationError, match="not to hosts"):
        client.set_hosts("127.0.0.1:2181")


def test_only_the_open_acl_is_accepted(zk):
    zk.create("/open", acl=OPEN_ACL_UNSAFE)
    digest = [make_digest_acl("user", "secret", all=True)]
    with pytest.raises(InvalidACLError, match="FaaSKeeper has no access control"):
        zk.create("/guarded", acl=digest)
    with pytest.raises(InvalidACLError, match="only OPEN_ACL_UNSAFE"):
        zk.set_acls("/open", digest)
    txn = zk.transaction()
    txn.create("/in-txn", acl=digest)
    with pytest.raises(InvalidACLError):
        txn.commit()
    assert zk.exists("/guarded") is None
    acls, stat = zk.get_acls("/open")
    assert acls == list(OPEN_ACL_UNSAFE)
    assert stat == zk.exists("/open")


def test_faaskeeper_errors_are_kazoos(zk):
    with pytest.raises(NoNodeError):
        zk.get("/missing")
    with pytest.raises(NoNodeError):
        zk.create("/missing/child")
    zk.create("/node", b"a")
    with pytest.raises(NodeExistsError):
        zk.create("/node")
    with pytest.raises(BadVersionError):
        zk.set("/node", b"b", version=7)
    zk.create("/node/child")
    with pytest.raises(NotEmptyError):
        zk.delete("/node")
    zk.create("/eph", ephemeral=True)
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create("/eph/child")
    with pytest.raises(UnimplementedError, match="four-letter word"):
        zk.command(b"ruok")
    with pytest.raises(UnimplementedError, match="authentication"):
        zk.add_auth("digest", "user:secret")


def test_stats_and_reads(zk):
    path, stat = zk.create("/seq-", b"abc", ephemeral=True, sequence=True, include_data=True)
    assert path == "/seq-0000000000"  # the root's first child: ZooKeeper numbers by the parent's cversion
    assert isinstance(stat, ZnodeStat)
    assert stat.ephemeralOwner == zk.client_id[0] == session_number(zk.faaskeeper.session_id)
    assert stat.dataLength == 3
    data, read = zk.get(path)
    assert (data, read) == (b"abc", stat)
    new = zk.set(path, b"de")
    assert (new.version, new.mzxid > stat.mzxid, new.czxid) == (1, True, stat.czxid)
    zk.create("/parent/a", makepath=True)
    zk.create("/parent/b")
    children, parent = zk.get_children("/parent", include_data=True)
    assert sorted(children) == ["a", "b"]
    assert (parent.numChildren, parent.cversion) == (2, 2)
    assert parent == zk.exists("/parent")
    zk.delete("/parent", recursive=True)
    assert zk.exists("/parent") is None
    assert zk.get_async(path).get(timeout=SETTLE) == (b"de", new)


def test_watches_fire_once_on_kazoos_callback_thread(zk):
    zk.create("/watched", b"1")
    calls: queue.Queue[tuple[WatchedEvent, threading.Thread]] = queue.Queue()

    def watch(event: WatchedEvent) -> None:
        calls.put((event, threading.current_thread()))

    # Set twice on one path, the function is called once, as kazoo calls it on ZooKeeper.
    zk.get("/watched", watch=watch)
    zk.exists("/watched", watch=watch)
    zk.set("/watched", b"2")
    event, thread = calls.get(timeout=SETTLE)
    assert event == WatchedEvent(EventType.CHANGED, KeeperState.CONNECTED, "/watched")
    zk.set("/watched", b"3")  # one-shot: not set again, so not called again
    marker: queue.Queue[threading.Thread] = queue.Queue()
    zk.handler.dispatch_callback(Callback("watch", lambda: marker.put(threading.current_thread()), ()))
    assert marker.get(timeout=SETTLE) is thread  # kazoo's callback thread
    assert calls.empty()
    zk.get_children("/", watch=watch)
    zk.delete("/watched")
    assert calls.get(timeout=SETTLE)[0] == WatchedEvent(EventType.CHILD, KeeperState.CONNECTED, "/")


def test_expired_session_is_lost_then_a_new_one_connects(zk, config):
    states: queue.Queue[KazooState] = queue.Queue()
    zk.create("/mine", ephemeral=True)
    first = zk.client_id
    zk.add_listener(states.put)
    zk._call(_SESSION_EXPIRED, None)  # stops answering heartbeats, as kazoo's harness asks
    seen: list[KazooState] = []
    while not seen or seen[-1] != KazooState.CONNECTED or KazooState.LOST not in seen:
        seen.append(states.get(timeout=SETTLE))
    assert seen[-2:] == [KazooState.LOST, KazooState.CONNECTED]
    assert set(seen) <= {KazooState.SUSPENDED, KazooState.LOST, KazooState.CONNECTED}
    assert zk.connected
    assert zk.client_id is not None
    assert zk.client_id != first
    assert zk.exists("/mine") is None  # its ephemeral node went with the expired session


def test_a_dropped_connection_suspends_and_comes_back_in_the_same_session(zk):
    states: queue.Queue[KazooState] = queue.Queue()
    zk.create("/mine", ephemeral=True)
    first = zk.client_id
    zk.add_listener(states.put)
    zk._call(_CONNECTION_DROP, None)  # heartbeats unanswered until SUSPENDED, as kazoo's harness asks
    assert states.get(timeout=SETTLE) == KazooState.SUSPENDED
    assert states.get(timeout=SETTLE) == KazooState.CONNECTED
    assert zk.client_id == first
    assert zk.exists("/mine") is not None


def test_stop_is_lost_and_calls_after_it_are_refused(config):
    client = KazooClient(config)
    states: list[KazooState] = []
    client.add_listener(states.append)
    client.start()
    assert client.connected
    assert client.state == KazooState.CONNECTED
    client.create("/eph", ephemeral=True)
    client.stop()
    assert states == [KazooState.CONNECTED, KazooState.LOST]
    assert not client.connected
    assert client.client_id is None
    with pytest.raises(Exception, match="closed"):
        client.get("/")
    client.start()  # restartable, with a new session
    try:
        assert client.exists("/eph") is None
    finally:
        client.stop()


def test_a_deployment_that_does_not_exist_fails_the_start_and_the_calls_after_it(tmp_path):
    from faaskeeper.config import Config

    missing = Config.deserialize(
        {"cloud-provider": "local", "deployment-name": "gone", "local": {"path": str(tmp_path)}}
    )
    client = KazooClient(missing)
    with pytest.raises(SystemZookeeperError, match="fk deploy"):
        client.start()
    assert not client.connected
    with pytest.raises(ConnectionClosedError):
        client.get("/")
