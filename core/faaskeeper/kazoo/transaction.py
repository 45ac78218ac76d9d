"""kazoo's transaction (ZooKeeper's multi) on FaaSKeeper's ``client.transaction()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kazoo.exceptions import BadArgumentsError, UnimplementedError
from kazoo.protocol.serialization import CheckVersion, Create, Delete, SetData

from faaskeeper.kazoo.acl import check_acl
from faaskeeper.kazoo.errors import to_kazoo
from faaskeeper.kazoo.stat import znode_stat
from faaskeeper.node import Stat

EPHEMERAL, SEQUENTIAL = 1, 2


def build(backend: Any, operations: Sequence[Any]) -> Any:
    """A FaaSKeeper transaction holding kazoo's ``operations`` (Create, Delete, SetData, CheckVersion);
    an ACL, node kind or request FaaSKeeper cannot take is refused before anything is built."""
    for op in operations:
        if isinstance(op, Create):
            check_acl(op.acl)
            check_flags(op.flags)
        elif not isinstance(op, Delete | SetData | CheckVersion):
            raise BadArgumentsError(f"A transaction cannot hold a {type(op).__name__} request")
    if not hasattr(backend, "transaction"):
        raise UnimplementedError("This FaaSKeeper client has no transactions (client.transaction())")
    txn = backend.transaction()
    for op in operations:
        if isinstance(op, Create):
            txn.create(
                op.path, op.data or b"", ephemeral=bool(op.flags & EPHEMERAL), sequential=bool(op.flags & SEQUENTIAL)
            )
        elif isinstance(op, Delete):
            txn.delete(op.path, op.version)
        elif isinstance(op, SetData):
            txn.set_data(op.path, op.data or b"", op.version)
        else:
            txn.check(op.path, op.version)
    return txn


def results(outcomes: Sequence[object], unchroot: Callable[[str], str]) -> list[object]:
    """kazoo's per-op results of FaaSKeeper's: a created path (outside the chroot), True, a
    ZnodeStat, or kazoo's exception instance for an op that failed or was rolled back."""
    converted: list[object] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            converted.append(to_kazoo(outcome))
        elif isinstance(outcome, str):
            converted.append(unchroot(outcome))
        elif isinstance(outcome, Stat):
            converted.append(znode_stat(outcome))
        else:
            converted.append(outcome)
    return converted


def check_flags(flags: int) -> None:
    """Ephemeral and sequential are the node kinds FaaSKeeper has (no container or TTL nodes)."""
    if flags & ~(EPHEMERAL | SEQUENTIAL):
        raise BadArgumentsError(f"FaaSKeeper has no container or TTL nodes: create flags {flags} are not supported")
