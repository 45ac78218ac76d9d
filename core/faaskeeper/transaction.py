"""Transactions: several creates, deletes, set_datas and checks applied atomically, as ZooKeeper's multi.

Built with :meth:`faaskeeper.client.FaaSKeeperClient.transaction`::

    results = client.transaction().create("/a", b"x").set_data("/b", b"y", version=3).commit()

Every operation is validated against the state the ones before it leave (a node created earlier in
the transaction can get a child, one deleted can be created again), and either all of them take
effect under one transaction id or none does. ``commit()`` returns one entry per operation, in
order: on success the created path (with its sequential suffix), True for a delete or a check, the
node's new :class:`~faaskeeper.node.Stat` for a set_data; on failure an exception per operation,
the failing op's own error, :class:`~faaskeeper.exceptions.RolledBackException` for the ops before
it and :class:`~faaskeeper.exceptions.RuntimeInconsistencyException` for the ops after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faaskeeper import paths
from faaskeeper.exceptions import MalformedInputException
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, FLAG_SEQUENTIAL, Op, TxnOp

if TYPE_CHECKING:
    from faaskeeper.client.client import FaaSKeeperClient
    from faaskeeper.client.futures import Future


class Transaction:
    """A builder of one transaction; each method adds an operation and returns the transaction."""

    def __init__(self, client: FaaSKeeperClient) -> None:
        self._client = client
        self._ops: list[TxnOp] = []
        self._committed = False

    @property
    def operations(self) -> tuple[TxnOp, ...]:
        """The operations added so far, in order."""
        return tuple(self._ops)

    def create(self, path: str, value: bytes = b"", ephemeral: bool = False, sequential: bool = False) -> Transaction:
        paths.validate_path(path)
        value = self._client._check_value(value)
        flags = (FLAG_EPHEMERAL if ephemeral else 0) | (FLAG_SEQUENTIAL if sequential else 0)
        return self._add(TxnOp(Op.CREATE, path, value, flags=flags))

    def delete(self, path: str, version: int = -1) -> Transaction:
        paths.validate_path(path, allow_root=False)
        return self._add(TxnOp(Op.DELETE, path, version=self._client._check_version(version)))

    def set_data(self, path: str, value: bytes, version: int = -1) -> Transaction:
        paths.validate_path(path)
        value = self._client._check_value(value)
        return self._add(TxnOp(Op.SET_DATA, path, value, version=self._client._check_version(version)))

    def check(self, path: str, version: int) -> Transaction:
        """The transaction succeeds only if the node exists at ``version`` (-1: at any)."""
        paths.validate_path(path)
        return self._add(TxnOp(Op.CHECK, path, version=self._client._check_version(version)))

    def commit(self) -> list[Any]:
        """Apply every operation or none; one result per operation (see the module docstring)."""
        return self._client._await_write(self.commit_async())

    def commit_async(self) -> Future[list[Any]]:
        if self._committed:
            raise MalformedInputException("transaction already committed")
        future = self._client._commit_transaction(tuple(self._ops))
        self._committed = True
        return future

    def _add(self, op: TxnOp) -> Transaction:
        if self._committed:
            raise MalformedInputException("transaction already committed")
        self._ops.append(op)
        return self
