"""kazoo's transactions and sync on FaaSKeeper's client.transaction() and client.sync().

The mapping is tested against a stand-in for the FaaSKeeper transaction, then on a deployment."""

from __future__ import annotations

import pytest
from kazoo.exceptions import (
    BadVersionError,
    InvalidACLError,
    NoNodeError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.handlers.threading import SequentialThreadingHandler
from kazoo.protocol.serialization import CheckVersion, Create, Delete, SetData, Transaction
from kazoo.protocol.states import ZnodeStat
from kazoo.security import OPEN_ACL_UNSAFE, make_digest_acl

from faaskeeper.client.futures import Future
from faaskeeper.exceptions import BadVersionError as fk_BadVersion
from faaskeeper.exceptions import NodeDoesntExistException, RolledBackException, RuntimeInconsistencyException
from faaskeeper.kazoo.requests import RequestRouter
from faaskeeper.kazoo.stat import znode_stat
from faaskeeper.kazoo.watches import WatchBridge
from faaskeeper.node import Stat


class StandInTransaction:
    """Records the ops it is given and commits to the outcomes it was made with."""

    def __init__(self, outcomes: list[object]) -> None:
        self.ops: list[tuple[object, ...]] = []
        self._outcomes = outcomes

    def create(self, path, value=b"", ephemeral=False, sequential=False):
        self.ops.append(("create", path, value, ephemeral, sequential))
        return self

    def delete(self, path, version=-1):
        self.ops.append(("delete", path, version))
        return self

    def set_data(self, path, value, version=-1):
        self.ops.append(("set_data", path, value, version))
        return self

    def check(self, path, version):
        self.ops.append(("check", path, version))
        return self

    def commit_async(self) -> Future[list[object]]:
        future: Future[list[object]] = Future()
        future.set_result(self._outcomes)
        return future


class StandInClient:
    def __init__(self, outcomes: list[object]) -> None:
        self.txn = StandInTransaction(outcomes)

    def transaction(self) -> StandInTransaction:
        return self.txn


def unchroot(path: str) -> str:
    return path[len("/app") :] or "/"


OPS = [
    Create("/app/q/item-", b"x", OPEN_ACL_UNSAFE, 3),
    Delete("/app/old", 3),
    SetData("/app/value", b"y", 1),
    CheckVersion("/app/guard", 4),
]


def commit(backend: object, ops: list[object]):
    result = SequentialThreadingHandler().async_result()
    RequestRouter(backend, WatchBridge(None), lambda fn: fn(), unchroot).issue(Transaction(ops), result)  # type: ignore[arg-type]
    return result.get(timeout=5)


def test_each_op_becomes_the_faaskeeper_op_and_results_are_kazoos():
    stat = Stat(czxid=3, mzxid=9, version=2, data_length=1)
    backend = StandInClient(["/app/q/item-0000000007", True, stat, True])
    assert commit(backend, OPS) == ["/q/item-0000000007", True, znode_stat(stat), True]
    assert backend.txn.ops == [
        ("create", "/app/q/item-", b"x", True, True),
        ("delete", "/app/old", 3),
        ("set_data", "/app/value", b"y", 1),
        ("check", "/app/guard", 4),
    ]
    assert isinstance(znode_stat(stat), ZnodeStat)


def test_a_failed_transaction_reports_each_op_as_kazoo_does():
    backend = StandInClient(
        [
            RolledBackException("rolled back"),
            NodeDoesntExistException("/app/old"),
            RuntimeInconsistencyException("not run"),
            RuntimeInconsistencyException("not run"),
        ]
    )
    results = commit(backend, OPS)
    assert [type(r) for r in results] == [RolledBackError, NoNodeError, RuntimeInconsistency, RuntimeInconsistency]


def test_a_bad_version_is_kazoos_and_an_acl_refuses_the_whole_transaction():
    backend = StandInClient([fk_BadVersion(2, "/app/value")])
    assert [type(r) for r in commit(backend, [OPS[2]])] == [BadVersionError]
    guarded = Create("/app/guarded", b"", [make_digest_acl("u", "p", all=True)], 0)
    refused = StandInClient([])
    with pytest.raises(InvalidACLError):
        commit(refused, [OPS[1], guarded])
    assert refused.txn.ops == []  # nothing was built, nothing sent


def test_a_transaction_on_a_deployment_is_all_or_nothing(zk):
    zk.create("/value", b"0")
    with zk.transaction() as txn:
        txn.create("/made", b"m")
        txn.set_data("/value", b"1", version=0)
    assert zk.get("/made")[0] == b"m"
    txn = zk.transaction()
    txn.create("/never", b"n")
    txn.check("/value", 0)  # the version is 1 now
    txn.delete("/made")
    results = txn.commit()
    assert [type(r) for r in results] == [RolledBackError, BadVersionError, RuntimeInconsistency]
    assert zk.exists("/never") is None
    assert zk.exists("/made") is not None


def test_sync_returns_the_path(zk):
    zk.create("/synced")
    assert zk.sync("/synced") == "/synced"
