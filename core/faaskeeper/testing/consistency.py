"""Conformance of ZooKeeper's guarantees through several sessions: order, linearizable writes,
and reads that see the session's writes and never go back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from faaskeeper.client import FaaSKeeperClient, Future
from faaskeeper.exceptions import NodeDoesntExistException, NodeExistsException
from faaskeeper.testing.fixtures import ConformanceFixtures

Factory = Callable[[], FaaSKeeperClient]


class ConsistencySuite(ConformanceFixtures):
    """Per-session FIFO, total order of writes, single system image."""

    def test_async_operations_complete_in_issue_order(self, client: FaaSKeeperClient) -> None:
        created = [client.create_async("/q", b"0"), client.create_async("/q", b"duplicate")]
        updated = [client.set_data_async("/q", str(i).encode()) for i in range(1, 11)]
        read, missing, stat = client.get_data_async("/q"), client.delete_async("/missing"), client.exists_async("/q")
        futures: list[Future[object]] = [*created, *updated, read, missing, stat]
        completed: list[int] = []
        guard = threading.Lock()
        for index, future in enumerate(futures):
            future.add_callback(_recorder(guard, completed, index))
        futures[-1].get(self.client_timeout)
        deadline = time.monotonic() + self.settle_timeout
        while len(completed) < len(futures) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert completed == list(range(len(futures))), "a session's operations complete in the order issued"
        assert created[0].get().path == "/q"
        assert isinstance(created[1].exception(), NodeExistsException), "a failure takes its place in the order"
        assert [f.get().stat.version for f in updated] == list(range(1, 11))
        assert read.get().data == b"10", "a read issued after writes sees them"
        assert isinstance(missing.exception(), NodeDoesntExistException)
        node = stat.get()
        assert node is not None
        assert node.stat.version == 10

    def test_transaction_ids_follow_issue_order(self, client: FaaSKeeperClient) -> None:
        futures = [client.create_async(f"/t{i}") for i in range(6)]
        zxids = [f.get(self.client_timeout).stat.czxid for f in futures]
        assert zxids == sorted(zxids)
        assert len(set(zxids)) == len(zxids)

    def test_reads_see_the_sessions_own_writes(self, client: FaaSKeeperClient) -> None:
        client.create("/ryw", b"0")
        writes = [client.set_data_async("/ryw", str(i).encode()) for i in range(1, 6)]
        node = client.get_data("/ryw")
        assert (node.data, node.stat.version) == (b"5", 5)
        assert all(w.done() for w in writes)
        deleted = client.delete_async("/ryw")
        assert client.exists("/ryw") is None
        assert deleted.done()
        client.create_async("/ryw-child")
        assert [n.path for n in client.get_children("/")] == ["/ryw-child"]

    def test_other_sessions_see_completed_writes(self, client_factory: Factory) -> None:
        first, second = client_factory(), client_factory()
        assert first.session_id != second.session_id
        first.create("/shared", b"from first")
        assert second.get_data("/shared").data == b"from first"
        second.set_data("/shared", b"from second")
        node = first.get_data("/shared")
        assert (node.data, node.stat.version) == (b"from second", 1)

    def test_reads_never_go_back(self, client_factory: Factory) -> None:
        writer, reader = client_factory(), client_factory()
        writer.create("/mono", b"0")
        futures = [writer.set_data_async("/mono", str(i).encode()) for i in range(1, 21)]
        seen: list[int] = []
        deadline = time.monotonic() + self.client_timeout
        while not seen or seen[-1] < 20:
            assert time.monotonic() < deadline, f"the reader never saw the last write; saw {seen}"
            node = reader.get_data("/mono")
            assert node.data == str(node.stat.version).encode(), "data and stat of one version are read together"
            seen.append(node.stat.version)
        assert seen == sorted(seen), f"a later read returned an older version: {seen}"
        for future in futures:
            future.get(self.client_timeout)

    def test_concurrent_writers_lose_no_update(self, client_factory: Factory) -> None:
        first, second = client_factory(), client_factory()
        first.create("/counter")
        mine = [first.set_data_async("/counter", b"a%d" % i) for i in range(10)]
        theirs = [second.set_data_async("/counter", b"b%d" % i) for i in range(10)]
        mine_stats = [f.get(self.client_timeout).stat for f in mine]
        theirs_stats = [f.get(self.client_timeout).stat for f in theirs]
        for stats in (mine_stats, theirs_stats):
            assert [s.version for s in stats] == sorted(s.version for s in stats), "per-session FIFO"
        assert sorted(s.version for s in mine_stats + theirs_stats) == list(range(1, 21)), "one version per write"
        assert len({s.mzxid for s in mine_stats + theirs_stats}) == 20, "one transaction per write"
        final = first.get_data("/counter")
        assert final.stat.version == 20
        assert final.data in (b"a9", b"b9")

    def test_concurrent_creates_one_wins(self, client_factory: Factory) -> None:
        first, second = client_factory(), client_factory()
        pairs = [(first.create_async(f"/race{i}", b"1"), second.create_async(f"/race{i}", b"2")) for i in range(5)]
        for i, (one, two) in enumerate(pairs):
            outcomes = [one.wait(self.client_timeout), two.wait(self.client_timeout)]
            assert sorted(outcomes) == [False, True], f"/race{i}: exactly one create succeeds"
            loser = two if outcomes[0] else one
            assert isinstance(loser.exception(), NodeExistsException)
            assert first.get_data(f"/race{i}").data == (b"1" if outcomes[0] else b"2")

    def test_concurrent_sequential_names_are_unique(self, client_factory: Factory) -> None:
        first, second = client_factory(), client_factory()
        first.create("/seq")
        futures = [c.create_async("/seq/n-", sequential=True) for _ in range(5) for c in (first, second)]
        paths = [f.get(self.client_timeout).path for f in futures]
        assert sorted(int(p[-10:]) for p in paths) == list(range(10))
        assert [n.path for n in second.get_children("/seq")] == sorted(paths)


def _recorder(guard: threading.Lock, items: list[int], item: int) -> Callable[[Future[object]], None]:
    """A future callback appending ``item`` to ``items``."""

    def record(_future: Future[object]) -> None:
        with guard:
            items.append(item)

    return record
