"""Each operation's future is typed by what it gives: mypy checks the ``assert_type`` lines (a
future typed ``Future[Any]`` fails them), and the test that each future gives it."""

from __future__ import annotations

from typing import assert_type

from faaskeeper.client import FaaSKeeperClient, Future
from faaskeeper.node import Node

TIMEOUT = 20


def test_each_asynchronous_operation_gives_what_its_future_is_typed_by(client: FaaSKeeperClient) -> None:
    created = client.create_async("/typed", b"0")
    assert_type(created, Future[Node])
    assert created.get(TIMEOUT).path == "/typed"
    updated = client.set_data_async("/typed", b"1")
    assert_type(updated, Future[Node])
    assert updated.get(TIMEOUT).stat.version == 1
    client.create("/typed/child")
    read = client.get_data_async("/typed")
    assert_type(read, Future[Node])
    assert read.get(TIMEOUT).data == b"1"
    present, absent = client.exists_async("/typed"), client.exists_async("/absent")
    assert_type(present, Future[Node | None])
    assert isinstance(present.get(TIMEOUT), Node)
    assert absent.get(TIMEOUT) is None
    children = client.get_children_async("/typed")
    assert_type(children, Future[list[Node]])
    assert [child.path for child in children.get(TIMEOUT)] == ["/typed/child"]
    deleted = client.delete_async("/typed/child")
    assert_type(deleted, Future[None])
    deleted.get(TIMEOUT)
    assert client.exists("/typed/child") is None


def test_futures_of_several_operations_collect_as_futures_of_object(client: FaaSKeeperClient) -> None:
    """A future is covariant in what it gives: a list of them needs no ``Any``."""
    futures: list[Future[object]] = [client.create_async("/mixed"), client.exists_async("/mixed")]
    futures.append(client.delete_async("/mixed"))
    results = [future.get(TIMEOUT) for future in futures]
    assert isinstance(results[0], Node)
    assert isinstance(results[1], Node)
    assert results[2] is None
