"""Conformance of the watch tallies a system storage may keep (:class:`~faaskeeper.api.storage.WatchTally`):
what a claim reports and what a registration answers. Skipped for storages that keep none."""

from __future__ import annotations

import pytest

from faaskeeper.api.storage import NO_NODE, SystemStorage, WatchKind, WatchRecord, WatchTally
from faaskeeper.testing.fixtures import ConformanceFixtures
from faaskeeper.testing.node_commits import create_node, delete_node, set_node_data

ADDRESS = "tcp://127.0.0.1:9"


def _watch(path: str, kind: WatchKind = WatchKind.DATA, session: str = "s1", counter: int = 5) -> WatchRecord:
    return WatchRecord(path, kind, session, counter, ADDRESS)


def _claimed_tally(storage: SystemStorage, path: str, txn: int) -> WatchTally:
    """Commit a data change of ``path`` as ``txn`` and claim it: the tally the claim read."""
    set_node_data(storage, path, txn)
    claim = storage.claim_transaction([path], txn)
    assert claim is not None
    return claim.tallies[path]


class WatchTallySuite(ConformanceFixtures):
    """A data or exists watch on a live node is counted; the next claim of the node reports it
    until the distributor settles the tally, and a watch counted since keeps it loud."""

    @pytest.fixture
    def tallied(self, system_storage: SystemStorage) -> SystemStorage:
        """The storage with ``/a`` created and claimed as transaction 5, if it keeps watch tallies."""
        create_node(system_storage, "/a", 5)
        claim = system_storage.claim_transaction(["/a", "/"], 5)
        assert claim is not None
        if system_storage.add_watch(_watch("/probe-of-tallies", counter=NO_NODE)) is not None:
            raise AssertionError("a watch on a missing node was counted")
        system_storage.remove_session_watches("s1")
        if system_storage.add_watch(_watch("/a", session="probe")) is None:
            pytest.skip("this storage keeps no watch tallies")
        tally = _claimed_tally(system_storage, "/a", 6)
        assert not tally.quiet
        system_storage.remove_session_watches("probe")
        system_storage.settle_watches("/a", tally.registered)
        assert _claimed_tally(system_storage, "/a", 7).quiet
        return system_storage

    def test_a_registration_answers_the_last_claim_before_it(self, tallied: SystemStorage) -> None:
        assert tallied.add_watch(_watch("/a", counter=7)) == 7
        set_node_data(tallied, "/a", 8)
        assert tallied.add_watch(_watch("/a", WatchKind.EXISTS, counter=7)) == 7, "committed, not yet claimed"
        assert tallied.claim_transaction(["/a"], 8) is not None
        assert tallied.add_watch(_watch("/a", session="s2", counter=8)) == 8

    def test_a_claim_reports_watches_until_they_are_settled(self, tallied: SystemStorage) -> None:
        tallied.add_watch(_watch("/a", counter=7))
        tally = _claimed_tally(tallied, "/a", 8)
        assert not tally.quiet, "a watch counted before the claim"
        assert not _claimed_tally(tallied, "/a", 9).quiet, "still counted: not settled"
        tallied.remove_session_watches("s1")
        tallied.settle_watches("/a", tally.registered)
        assert _claimed_tally(tallied, "/a", 10).quiet

    def test_a_watch_counted_after_the_claim_is_not_settled_away(self, tallied: SystemStorage) -> None:
        tallied.add_watch(_watch("/a", counter=7))
        tally = _claimed_tally(tallied, "/a", 8)
        assert tallied.add_watch(_watch("/a", session="s2", counter=8)) == 8
        tallied.settle_watches("/a", tally.registered)
        assert not _claimed_tally(tallied, "/a", 9).quiet, "the later watch must still be looked for"

    def test_children_watches_and_missing_nodes_are_not_counted(self, tallied: SystemStorage) -> None:
        assert tallied.add_watch(_watch("/a", WatchKind.CHILDREN, counter=7)) is None
        assert tallied.add_watch(_watch("/missing", WatchKind.EXISTS, counter=NO_NODE)) is None
        create_node(tallied, "/a/b", 8)
        assert tallied.claim_transaction(["/a/b", "/a"], 8) is not None
        delete_node(tallied, "/a/b", 9)
        assert tallied.add_watch(_watch("/a/b", counter=8)) is None, "a deleted node is not live"
        assert _claimed_tally(tallied, "/a", 10).quiet, "children watches fire on other writes"
