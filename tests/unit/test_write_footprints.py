"""Writes that change several nodes in user storage: the distributor records their footprint on
each node and writes the sentinel last; a session's reads never show part of such a write after
a read showed another part (faaskeeper.client.applied)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest

from faaskeeper.api.channel import ChannelSender
from faaskeeper.client.applied import AppliedWrites, shows_whole
from faaskeeper.node import Footprint, Node, Stat
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.host import PollingFunctionHost
from faaskeeper.protocol.messages import Op, TxnOp, WriteRequest
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.writer import Writer
from faaskeeper.testing.support import HandSession, Inbox
from faaskeeper_memory.queue import MemoryQueue
from faaskeeper_memory.system_storage import MemorySystemStorage
from faaskeeper_memory.user_storage import MemoryUserStorage


class RecordingUserStorage(MemoryUserStorage):
    """User storage that remembers the order of the distributor's writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    def write(self, node: Node) -> None:
        self.written.append(node.path)
        super().write(node)

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        self.written.append(path)
        super().update_metadata(path, stat, children, footprint)

    def delete(self, path: str) -> None:
        self.written.append(path)
        super().delete(path)


class Functions:
    """The core's writer and distributor over memory storage, run by hand."""

    def __init__(self) -> None:
        self.user = RecordingUserStorage()
        self.inbox = Inbox()
        inbox = self.inbox

        class Channel(ChannelSender):
            def send(self, address: str, message: bytes) -> None:
                inbox(message)

            def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
                return inbox(message)

        system, channel, settings = MemorySystemStorage(), Channel(), FunctionSettings()
        writer_queue, distributor_queue = MemoryQueue("writer"), MemoryQueue("distributor")
        writer = Writer(system, distributor_queue, channel, settings)
        distributor = Distributor(system, self.user, channel, settings, writer_queue=writer_queue)
        self.host = PollingFunctionHost(
            [(writer_queue, writer.handle), (distributor_queue, distributor.handle)], visibility_timeout=5
        )
        self.session = HandSession(writer_queue, "tcp://127.0.0.1:9", self.inbox)
        self.run(lambda: self.session.request(Op.REGISTER_SESSION, heartbeat=False))

    def run(self, make: Callable[[], WriteRequest]) -> None:
        seq = self.session.push(make())
        while self.host.run_once():
            pass
        assert self.inbox.wait_reply(seq, 5).ok

    def write(self, op: Op, path: str, data: bytes = b"") -> list[str]:
        """Apply one write; the paths the distributor wrote to user storage, in order."""
        self.user.written.clear()
        self.run(lambda: self.session.request(op, path, data))
        return list(self.user.written)

    def multi(self, *ops: TxnOp) -> list[str]:
        self.user.written.clear()
        self.run(lambda: replace(self.session.request(Op.MULTI), ops=ops))
        return list(self.user.written)


@pytest.fixture
def functions() -> Functions:
    return Functions()


def test_a_create_writes_the_node_then_its_parent_both_with_the_create_footprint(functions: Functions) -> None:
    functions.write(Op.CREATE, "/a")
    assert functions.write(Op.CREATE, "/a/b") == ["/a/b", "/a"], "the parent, which stays, is the sentinel"
    child, parent = functions.user.read("/a/b"), functions.user.read("/a")
    assert child is not None
    assert parent is not None
    assert child.footprint == parent.footprint == Footprint(child.stat.czxid, "/a")


def test_a_set_data_changes_one_node_and_records_no_footprint(functions: Functions) -> None:
    functions.write(Op.CREATE, "/s", b"0")
    assert functions.write(Op.SET_DATA, "/s", b"1") == ["/s"]
    node = functions.user.read("/s")
    assert node is not None
    assert node.footprint is None


def test_a_transaction_writes_its_sentinel_last_a_node_that_existed_before_it(functions: Functions) -> None:
    functions.write(Op.CREATE, "/t")
    functions.write(Op.CREATE, "/t/gone")
    functions.write(Op.CREATE, "/x", b"0")
    written = functions.multi(
        TxnOp(Op.CREATE, "/t/new", b"n"),
        TxnOp(Op.CREATE, "/t/new/deeper"),
        TxnOp(Op.DELETE, "/t/gone"),
        TxnOp(Op.SET_DATA, "/x", b"1"),
    )
    assert sorted(written) == ["/t", "/t/gone", "/t/new", "/t/new/deeper", "/x"]
    sentinel = written[-1]
    assert sentinel in ("/t", "/x"), "created nodes cannot be the sentinel: they did not exist before"
    changed = functions.user.read("/x")
    assert changed is not None
    txn = changed.stat.mzxid
    for path in ("/t", "/t/new", "/t/new/deeper", "/x"):
        node = functions.user.read(path)
        assert node is not None, path
        assert node.footprint == Footprint(txn, sentinel), path
    assert functions.user.read("/t/gone") is None


def test_applied_writes_keep_pending_only_what_no_later_read_proved_whole() -> None:
    applied = AppliedWrites()
    part = Node("/a", b"", Stat(czxid=7, mzxid=7), [], footprint=Footprint(7, "/p"))
    applied.saw(part)
    assert applied.through == 6, "a node at 7 proves every write before 7 whole"
    assert applied.unproven() == Footprint(7, "/p")
    applied.saw(Node("/q", b"", Stat(czxid=3, mzxid=5)))
    assert applied.unproven() == Footprint(7, "/p"), "an older node proves nothing about 7"
    applied.saw(Node("/r", b"", Stat(czxid=2, mzxid=8)))
    assert applied.unproven() is None, "a node at 8 was written after 7 was applied whole"
    assert applied.through == 7


def test_a_sentinel_read_at_its_own_write_proves_it_whole() -> None:
    applied = AppliedWrites()
    applied.saw(Node("/p", b"", Stat(mzxid=4, pzxid=9), [], footprint=Footprint(9, "/p")))
    assert applied.unproven() is None
    assert applied.through == 9


def test_a_reply_proves_its_write_and_every_earlier_one_whole() -> None:
    applied = AppliedWrites()
    applied.saw(Node("/a", b"", Stat(czxid=7, mzxid=7), [], footprint=Footprint(7, "/p")))
    applied.saw(Node("/b", b"", Stat(czxid=9, mzxid=9), [], footprint=Footprint(9, "/q")))
    assert applied.unproven() == Footprint(9, "/q"), "the latest: once it is whole, so is 7"
    applied.applied(9)
    assert applied.unproven() is None


@pytest.mark.parametrize(
    ("sentinel", "whole"),
    [
        (None, True),  # deleted by a later write, applied after this one
        (Node("/p", b"", Stat(czxid=1, mzxid=1, pzxid=6)), False),
        (Node("/p", b"", Stat(czxid=1, mzxid=1, pzxid=7)), True),
        (Node("/p", b"", Stat(czxid=1, mzxid=12, pzxid=6)), True),
    ],
)
def test_a_sentinel_shows_its_write_whole_when_gone_or_at_it_or_later(sentinel: Node | None, whole: bool) -> None:
    assert shows_whole(Footprint(7, "/p"), sentinel) is whole
