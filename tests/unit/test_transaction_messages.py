"""Transactions on the wire: their requests round-trip, malformed or oversized ones are refused,
the nodes a write locks and the order it locks them in, and a refusal's per-operation results."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import cast

import pytest

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.queue import Queue, QueueMessage
from faaskeeper.api.storage import NodeState, NodeUpdate, SystemStorage
from faaskeeper.exceptions import BadVersionError
from faaskeeper.node import Stat
from faaskeeper.protocol.codec import MalformedMessage, decode, encode
from faaskeeper.protocol.messages import (
    FLAG_EPHEMERAL,
    FLAG_SEQUENTIAL,
    DistributorEvent,
    EventKind,
    Op,
    OpResult,
    Reply,
    TxnOp,
    WriteRequest,
    common_ancestor,
    locked_paths,
    transaction_writes,
)
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.writer import Writer

OPS = (
    TxnOp(Op.CREATE, "/a", b"one"),
    TxnOp(Op.CREATE, "/a/q-", b"", flags=FLAG_SEQUENTIAL | FLAG_EPHEMERAL),
    TxnOp(Op.SET_DATA, "/b", b"two", version=3),
    TxnOp(Op.CHECK, "/c", version=0),
    TxnOp(Op.DELETE, "/d/e"),
)


def _multi(ops: tuple[TxnOp, ...] = OPS) -> WriteRequest:
    return WriteRequest(Op.MULTI, "s1", "token", 4, ops=ops, reply_to="tcp://x")


def test_a_transaction_round_trips_with_each_operations_data() -> None:
    decoded = WriteRequest.decode(_multi().encode(), 1024)
    assert decoded.ops == OPS
    assert decoded.txn_ops == OPS
    assert decoded.data_size == 6 + sum(512 + 3 * len(op.path) for op in OPS)


def test_a_single_write_is_a_transaction_of_one() -> None:
    create = WriteRequest(Op.CREATE, "s1", "t", 1, path="/x", data=b"v", flags=FLAG_EPHEMERAL)
    assert create.txn_ops == (TxnOp(Op.CREATE, "/x", b"v", flags=FLAG_EPHEMERAL),)


def _tampered(change: str) -> bytes:
    header, payload = decode(_multi().encode())
    ops = header["ops"]
    if change == "size":
        ops[0][4] += 1
    elif change == "op":
        ops[0][0] = "register_session"
    elif change == "flags":
        ops[2][3] = FLAG_EPHEMERAL
    elif change == "root":
        ops[4][1] = "/"
    elif change == "shape":
        ops[0] = {"op": "create"}
    return encode(header, payload)


@pytest.mark.parametrize("change", ["size", "op", "flags", "root", "shape"])
def test_a_malformed_transaction_is_refused(change: str) -> None:
    with pytest.raises(MalformedMessage):
        WriteRequest.decode(_tampered(change), 1024)


def test_a_transaction_carrying_more_data_than_the_limit_is_refused() -> None:
    with pytest.raises(MalformedMessage, match="exceeds the limit"):
        WriteRequest.decode(_multi().encode(), 5)


def test_the_nodes_a_write_locks_their_lowest_common_ancestor_first() -> None:
    assert locked_paths(OPS) == ["/", "/a", "/b", "/c", "/d", "/d/e"]
    nested = (TxnOp(Op.SET_DATA, "/a/b/c"), TxnOp(Op.CREATE, "/a/b/d", flags=FLAG_SEQUENTIAL))
    assert locked_paths(nested) == ["/a/b", "/a/b/c"]
    assert locked_paths((TxnOp(Op.SET_DATA, "/a/b"),)) == ["/a/b"]
    assert locked_paths((TxnOp(Op.CREATE, "/a/b"),)) == ["/a", "/a/b"]
    assert locked_paths((TxnOp(Op.DELETE, "/a/b"),)) == ["/a", "/a/b"]
    assert locked_paths((TxnOp(Op.CREATE, "/a/b-", flags=FLAG_SEQUENTIAL),)) == ["/a"]
    assert common_ancestor(["/ab/c", "/a/c"]) == "/"
    assert common_ancestor(["/a/b/c", "/a/b"]) == "/a/b"


def test_a_clients_bound_on_a_commits_writes() -> None:
    # /, /a, /b, /c, /d, /d/e, the sequential node, and the session's ephemeral index.
    assert transaction_writes(OPS) == 8


def test_a_refused_transaction_reports_each_operation() -> None:
    reply = Reply.transaction_failure(9, 4, 1, BadVersionError(3, "/b"))
    assert reply.results is not None
    not_run = ["RuntimeInconsistency"] * 2
    assert [r["error"] for r in reply.results] == ["RolledBack", "BadVersion", *not_run]
    assert (reply.ok, reply.error, reply.results[1]["error_path"]) == (False, "BadVersion", "/b")
    assert Reply.from_dict(reply.to_dict()).results == reply.results


def test_the_writer_dead_letters_a_transaction_over_the_providers_limit() -> None:
    settings = FunctionSettings(max_commit_writes=3)
    # Never reached: the message is refused before the session or any node is read.
    writer = Writer(cast(SystemStorage, object()), cast(Queue, object()), cast(ChannelSender, object()), settings)
    forged = replace(_multi(), ops=tuple(TxnOp(Op.SET_DATA, f"/n{i}") for i in range(4)))
    message = QueueMessage(forged.encode(), 1, "s1", "m1")
    with pytest.raises(MalformedMessage, match="4 operations exceeds the limit of 3"):
        writer.handle(message)
    assert WriteRequest.decode(forged.encode(), sys.maxsize).ops == forged.ops


def test_an_event_pushed_before_transactions_is_still_applied() -> None:
    state = NodeState(True, Stat(data_length=1))
    header = {
        "kind": "commit",
        "session": "s1",
        "seq": 3,
        "reply_to": "tcp://x",
        "op": "create",
        "lock": "t",
        "updates": [NodeUpdate("/n", state, created=True).to_dict(), NodeUpdate("/", NodeState(True)).to_dict()],
        "data_path": "/n",
        "result_path": "/n",
        "counts": True,
    }
    event = DistributorEvent.decode(encode(header, b"v"))
    assert event.data == (("/n", b"v"),)
    assert event.results == (OpResult(Op.CREATE, "/n", state.stat, created=True),)


def test_a_transactions_size_counts_its_operations_headers() -> None:
    ops = (TxnOp(Op.CREATE, "/a", b"xy"), TxnOp(Op.SET_DATA, "/bc", b"z"))
    request = _multi(ops)
    assert request.data_size == 3 + (512 + 3 * 2) + (512 + 3 * 3)
    # What the allowance stands for: the distributor event of 499 creates under one parent
    # (states, results, the parent's children) adds less than it per operation.
    names = [f"/parent/n{i:03d}" for i in range(499)]
    creates = tuple(TxnOp(Op.CREATE, name) for name in names)
    updates = tuple(NodeUpdate(name, NodeState(True, Stat(ctime=2**41, mtime=2**41)), created=True) for name in names)
    children = tuple(name.rsplit("/", 1)[1] for name in names)
    parent = NodeUpdate("/parent", NodeState(True, Stat(cversion=499, num_children=499), children))
    results = tuple(OpResult(Op.CREATE, name, Stat(ctime=2**41, mtime=2**41), created=True) for name in names)
    event = DistributorEvent(
        EventKind.COMMIT,
        "s" * 16,
        5,
        "tcp://127.0.0.1:40000",
        Op.MULTI,
        "t" * 32,
        (*updates, parent),
        tuple((name, b"") for name in names),
        results,
    )
    assert len(event.encode()) < _multi(creates).data_size
