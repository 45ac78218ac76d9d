"""Conformance of transactions, sync and ensure_path through the client: a transaction's
operations apply all together under one transaction id or not at all, each validated against the
state the ones before it leave, with ZooKeeper's per-operation results; its watches fire per
operation before its reply; limits are refused before anything is sent; a sync makes every write
completed before it visible to the session's reads."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.api.storage import UserStorage
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.client.futures import Future
from faaskeeper.config import Config
from faaskeeper.exceptions import (
    BadVersionError,
    MalformedInputException,
    NoChildrenForEphemeralsException,
    NodeDoesntExistException,
    NodeExistsException,
    NotEmptyException,
    RolledBackException,
    RuntimeInconsistencyException,
)
from faaskeeper.node import Footprint, Node, Stat
from faaskeeper.testing.fixtures import ConformanceFixtures, on_expiry_config
from faaskeeper.transaction import Transaction
from faaskeeper.watch import WatchedEvent, WatchEventType

Factory = Callable[[], FaaSKeeperClient]


def _kinds(results: list[object]) -> list[type]:
    return [type(r) for r in results]


class TransactionSuite(ConformanceFixtures):
    """client.transaction(), client.sync() and client.ensure_path(), as ZooKeeper defines them."""

    def test_a_transaction_applies_every_operation_under_one_transaction_id(self, client: FaaSKeeperClient) -> None:
        client.create("/old", b"0")
        results = (
            client.transaction()
            .create("/t", b"parent")
            .create("/t/child", b"c")
            .set_data("/old", b"1", version=0)
            .check("/old", 1)
            .create("/t/eph", ephemeral=True)
            .commit()
        )
        assert results[:2] == ["/t", "/t/child"]
        assert isinstance(results[2], Stat)
        assert results[2].version == 1
        assert results[3:] == [True, "/t/eph"]
        t, child, old = client.get_data("/t"), client.get_data("/t/child"), client.get_data("/old")
        assert (t.data, child.data, old.data) == (b"parent", b"c", b"1")
        txn = t.stat.czxid
        assert (child.stat.czxid, old.stat.mzxid) == (txn, txn), "one transaction id for every operation"
        assert results[2].mzxid == txn
        assert [n.path for n in client.get_children("/t")] == ["/t/child", "/t/eph"]
        assert (t.stat.num_children, t.stat.cversion) == (2, 2)
        assert client.get_data("/t/eph").stat.ephemeral_owner == client.session_id
        set_after_child = client.transaction().create("/t/later").set_data("/t", b"p2").commit()
        later = client.get_data("/t").stat
        assert set_after_child[1] == later, "a set_data's stat shows the children the transaction changed before it"

    def test_a_failed_transaction_changes_nothing_and_says_which_operation_failed(
        self, client: FaaSKeeperClient
    ) -> None:
        client.create("/f", b"0")
        results = client.transaction().create("/f/a").set_data("/f", b"x").delete("/missing").create("/f/b").commit()
        assert _kinds(results) == [
            RolledBackException,
            RolledBackException,
            NodeDoesntExistException,
            RuntimeInconsistencyException,
        ]
        assert results[2].path == "/missing"
        assert (results[0].code, results[3].code) == ("RolledBack", "RuntimeInconsistency")
        node = client.get_data("/f")
        assert (node.data, node.stat.version, node.stat.cversion) == (b"0", 0, 0)
        assert client.get_children("/f") == []

    def test_every_failure_kind_is_reported_on_its_operation(self, client: FaaSKeeperClient) -> None:
        client.create("/k", b"0")
        client.create("/k/c")
        client.create("/e", ephemeral=True)
        failing: dict[str, tuple[Callable[[Transaction], Transaction], type[Exception]]] = {
            "exists": (lambda t: t.create("/k"), NodeExistsException),
            "no parent": (lambda t: t.create("/none/x"), NodeDoesntExistException),
            "set version": (lambda t: t.set_data("/k", b"1", version=5), BadVersionError),
            "check version": (lambda t: t.check("/k", 3), BadVersionError),
            "check missing": (lambda t: t.check("/none", -1), NodeDoesntExistException),
            "delete version": (lambda t: t.delete("/k/c", version=2), BadVersionError),
            "not empty": (lambda t: t.delete("/k"), NotEmptyException),
            "ephemeral parent": (lambda t: t.create("/e/x"), NoChildrenForEphemeralsException),
        }
        for name, (add, error) in failing.items():
            txn = client.transaction().set_data("/k", b"changed")
            add(txn)
            txn.create("/k/after")
            results = txn.commit()
            assert _kinds(results) == [RolledBackException, error, RuntimeInconsistencyException], name
        assert client.get_data("/k").data == b"0", "no failed transaction changed anything"
        assert [n.path for n in client.get_children("/k")] == ["/k/c"]

    def test_operations_see_what_the_earlier_ones_of_the_transaction_did(self, client: FaaSKeeperClient) -> None:
        client.create("/d", b"first")
        before = client.get_data("/d").stat
        results = (
            client.transaction()
            .delete("/d")
            .create("/d", b"second")
            .create("/d/x")
            .delete("/d/x")
            .set_data("/d", b"third", version=0)
            .commit()
        )
        assert results == [True, "/d", "/d/x", True, results[4]]
        node = client.get_data("/d")
        assert node.data == b"third"
        assert node.stat.czxid > before.czxid
        assert node.stat.version == 1
        assert client.get_children("/d") == []
        assert client.exists("/d/x") is None
        conflict = client.transaction().delete("/d").set_data("/d", b"gone").commit()
        assert _kinds(conflict) == [RolledBackException, NodeDoesntExistException]
        assert client.get_data("/d").data == b"third"

    def test_sequential_creates_take_the_parent_counter_as_the_transaction_leaves_it(
        self, client: FaaSKeeperClient
    ) -> None:
        client.create("/s")
        client.create("/s/plain")
        results = (
            client.transaction()
            .create("/s/n-", sequential=True)
            .create("/s/n-", b"2", sequential=True)
            .delete("/s/plain")
            .create("/s/m-", sequential=True)
            .commit()
        )
        assert results == ["/s/n-0000000001", "/s/n-0000000002", True, "/s/m-0000000004"]
        assert client.get_data("/s/n-0000000002").data == b"2"
        assert client.create("/s/n-", sequential=True).path == "/s/n-0000000005"

    @on_expiry_config
    def test_ephemeral_nodes_created_in_a_transaction_go_with_their_session(self, client_factory: Factory) -> None:
        owner, other = client_factory(), client_factory()
        owner.create("/live")
        owner.transaction().create("/live/a", ephemeral=True).create("/live/b", ephemeral=True).commit()
        assert len(other.get_children("/live")) == 2
        owner.stop()
        assert other.get_children("/live") == [], "a closed session's ephemeral nodes are deleted"

    def test_watches_fire_for_each_operation_before_the_reply(self, client_factory: Factory) -> None:
        writer = client_factory()
        writer.create("/w", b"0")
        writer.create("/w/gone")
        seen: list[object] = []
        lock = threading.Lock()
        done = threading.Event()

        def record(event: WatchedEvent) -> None:
            with lock:
                seen.append((WatchEventType(event.type), event.path))

        def replied(future: Future[list[object]]) -> None:
            with lock:
                seen.append("reply")
            done.set()

        writer.get_data("/w", watch=record)
        writer.exists("/w/new", watch=record)
        writer.get_children("/w", watch=record)
        writer.get_data("/w/gone", watch=record)
        future = writer.transaction().set_data("/w", b"1").create("/w/new").delete("/w/gone").commit_async()
        future.add_callback(replied)
        assert done.wait(self.settle_timeout), "the transaction was not answered"
        with lock:
            assert seen[-1] == "reply", "every notification comes before the transaction's reply"
            assert Counter(seen[:-1]) == Counter(
                [
                    (WatchEventType.NODE_DATA_CHANGED, "/w"),
                    (WatchEventType.NODE_CREATED, "/w/new"),
                    (WatchEventType.NODE_CHILDREN_CHANGED, "/w"),
                    (WatchEventType.NODE_DELETED, "/w/gone"),
                ]
            ), "each watch fires once"

    def test_limits_are_refused_before_anything_is_sent(
        self, client: FaaSKeeperClient, provider: Provider, fk_checked_config: Config
    ) -> None:
        limit = provider.max_data_size(fk_checked_config)
        half = b"x" * (limit // 2 + 1)
        too_large = client.transaction().create("/big1", half).create("/big2", half)
        with pytest.raises(MalformedInputException, match=r"A transaction's data of .* exceeds the limit"):
            too_large.commit()
        ops = provider.max_commit_writes(fk_checked_config)
        if ops is not None:
            many = client.transaction()
            for i in range(ops + 1):
                many.create(f"/many{i}")
            with pytest.raises(MalformedInputException, match=f"limit of {ops}"):
                many.commit()
        assert client.get_children("/") == [], "nothing of a refused transaction was applied"

    def test_a_transaction_commits_once(self, client: FaaSKeeperClient) -> None:
        txn = client.transaction().create("/once")
        assert txn.commit() == ["/once"]
        with pytest.raises(MalformedInputException, match="already committed"):
            txn.commit()
        with pytest.raises(MalformedInputException, match="already committed"):
            txn.create("/twice")
        assert client.transaction().commit() == [], "an empty transaction succeeds"

    def test_sync_makes_every_write_completed_before_it_visible(self, client_factory: Factory) -> None:
        writer, reader = client_factory(), client_factory()
        reader.create("/sync", b"0")
        for i in range(1, 4):
            writer.set_data("/sync", str(i).encode())
            assert reader.sync("/sync") == "/sync"
            assert reader.get_data("/sync").data == str(i).encode()
        assert reader.sync_async("/").get(self.client_timeout) == "/"

    def test_ensure_path_creates_what_is_missing(self, client: FaaSKeeperClient) -> None:
        client.create("/e1", b"kept")
        client.ensure_path("/e1/e2/e3")
        assert client.get_data("/e1").data == b"kept"
        assert client.get_data("/e1/e2/e3").data == b""
        client.ensure_path("/e1/e2/e3")
        client.ensure_path("/")
        assert [n.path for n in client.get_children("/e1")] == ["/e1/e2"]

    def test_each_node_a_transaction_changes_records_its_footprint(self, client: FaaSKeeperClient) -> None:
        client.create("/fp", b"")
        client.create("/fp/s", b"0")
        client.transaction().create("/fp/new", b"n").set_data("/fp/s", b"1").commit()
        new, kept, parent = client.get_data("/fp/new"), client.get_data("/fp/s"), client.get_data("/fp")
        assert new.footprint is not None
        assert new.footprint.txn == new.stat.czxid
        assert new.footprint.sentinel in ("/fp", "/fp/s"), "the sentinel existed before the transaction"
        assert kept.footprint == parent.footprint == new.footprint
        client.set_data("/fp/s", b"2")
        assert client.get_data("/fp/s").footprint is None, "a write of one node needs no footprint"

    def test_a_read_after_one_that_showed_part_of_a_write_shows_all_of_it(
        self, client: FaaSKeeperClient, user_storage: UserStorage
    ) -> None:
        """User storage is left by hand as the distributor leaves it between two nodes of a
        transaction: a read that showed the first holds the next read back until the sentinel,
        the node written last, shows the transaction."""
        client.create("/part", b"")
        client.create("/part/a", b"a0")
        client.create("/part/b", b"b0")
        a, b = client.get_data("/part/a"), client.get_data("/part/b")
        txn = b.stat.czxid + 1
        footprint = Footprint(txn, "/part/b")
        user_storage.write(Node("/part/a", b"a1", a.stat.updated(mzxid=txn, version=1), [], footprint=footprint))
        assert client.get_data("/part/a").data == b"a1"
        held: Future[bytes | None] = Future()
        reader = threading.Thread(target=lambda: held.set_result(client.get_data("/part/b").data), daemon=True)
        reader.start()
        time.sleep(0.5)
        assert not held.done(), "the read of the sentinel waits for it to show the transaction"
        user_storage.write(Node("/part/b", b"b1", b.stat.updated(mzxid=txn, version=1), [], footprint=footprint))
        assert held.get(self.client_timeout) == b"b1"
        reader.join(self.client_timeout)
        assert client.get_data("/part/a").data == b"a1"
