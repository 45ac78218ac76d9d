"""Conformance of :class:`~faaskeeper.api.storage.SystemStorage`'s node rows: locks, commits, pending
transactions and ephemeral ownership, called directly as the functions call them."""

from __future__ import annotations

import threading
import time

from faaskeeper.api.storage import Commit, NodeState, NodeUpdate, RequestMark, SystemStorage
from faaskeeper.node import Stat
from faaskeeper.testing.fixtures import ConformanceFixtures
from faaskeeper.testing.node_commits import HOLD, create_node, delete_node, new_lock
from faaskeeper.testing.system_sessions import SystemSessionSuite, new_session
from faaskeeper.testing.watch_tallies import WatchTallySuite


class SystemNodeSuite(ConformanceFixtures):
    """SystemStorage's node rows: each method atomic, locks exclusive until they expire, commits conditional."""

    # -- a fresh deployment ----------------------------------------------------------------

    def test_fresh_deployment_holds_only_the_root(self, system_storage: SystemStorage) -> None:
        root = system_storage.read_node("/")
        assert root is not None
        assert root.exists
        assert root.state.children == ()
        assert root.lock is None
        assert root.pending == ()
        assert system_storage.count_nodes() == 1
        assert system_storage.read_node("/missing") is None
        assert system_storage.list_sessions() == []
        assert system_storage.count_watches() == 0

    # -- locks ---------------------------------------------------------------------------

    def test_lock_of_missing_node_returns_placeholder(self, system_storage: SystemStorage) -> None:
        lock = new_lock()
        node = system_storage.lock_node("/a", lock, HOLD)
        assert node is not None
        assert node.path == "/a"
        assert not node.exists
        assert node.lock == lock
        stored = system_storage.read_node("/a")
        assert stored is not None
        assert stored.lock == lock
        assert not stored.exists
        assert system_storage.count_nodes() == 1, "a placeholder is not a node"

    def test_lock_is_exclusive_until_it_expires(self, system_storage: SystemStorage) -> None:
        now = time.time()
        first = new_lock(now)
        assert system_storage.lock_node("/a", first, HOLD) is not None
        assert system_storage.lock_node("/a", new_lock(now + 1.0), HOLD) is None
        assert system_storage.lock_node("/a", new_lock(now + HOLD - 0.5), HOLD) is None
        node = system_storage.read_node("/a")
        assert node is not None
        assert node.lock == first
        takeover = new_lock(now + HOLD + 0.5)
        taken = system_storage.lock_node("/a", takeover, HOLD)
        assert taken is not None, "a lock older than max_hold must be taken over"
        assert taken.lock == takeover
        node = system_storage.read_node("/a")
        assert node is not None
        assert node.lock == takeover

    def test_lock_returns_the_node_state(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 7, data=b"xyz")
        system_storage.claim_transaction(["/a", "/"], 7)
        node = system_storage.lock_node("/a", new_lock(), HOLD)
        assert node is not None
        assert node.exists
        assert node.state.stat.czxid == 7
        assert node.state.stat.data_length == 3
        root = system_storage.lock_node("/", new_lock(), HOLD)
        assert root is not None
        assert root.state.children == ("a",)

    def test_unlock_needs_the_token_and_drops_placeholders(self, system_storage: SystemStorage) -> None:
        lock = new_lock()
        system_storage.lock_node("/a", lock, HOLD)
        system_storage.unlock_node("/a", new_lock())
        node = system_storage.read_node("/a")
        assert node is not None
        assert node.lock == lock, "unlock with another token must not release the lock"
        system_storage.unlock_node("/a", lock)
        assert system_storage.read_node("/a") is None, "an unlocked placeholder with nothing pending is dropped"

    def test_unlock_keeps_existing_node(self, system_storage: SystemStorage) -> None:
        lock = new_lock()
        root = system_storage.lock_node("/", lock, HOLD)
        assert root is not None
        system_storage.unlock_node("/", lock)
        after = system_storage.read_node("/")
        assert after is not None
        assert after.exists
        assert after.lock is None
        assert system_storage.lock_node("/", new_lock(), HOLD) is not None, "the node must be lockable again"

    def test_concurrent_lockers_exactly_one_wins(self, system_storage: SystemStorage) -> None:
        now = time.time()
        barrier = threading.Barrier(8)
        results: list[bool] = []
        guard = threading.Lock()

        def contend() -> None:
            lock = new_lock(now)
            barrier.wait()
            won = system_storage.lock_node("/contended", lock, HOLD) is not None
            with guard:
                results.append(won)

        threads = [threading.Thread(target=contend) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [False] * 7 + [True]

    # -- commits -------------------------------------------------------------------------

    def test_commit_applies_every_update_and_unlocks(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 5, data=b"abc")
        node = system_storage.read_node("/a")
        assert node is not None
        assert node.exists
        assert node.lock is None
        assert node.pending == (5,)
        assert (node.state.stat.czxid, node.state.stat.mzxid, node.state.stat.pzxid) == (5, 5, 5)
        assert node.state.stat.data_length == 3
        root = system_storage.read_node("/")
        assert root is not None
        assert root.lock is None
        assert root.pending == (5,)
        assert root.state.children == ("a",)
        assert root.state.stat.pzxid == 5
        assert root.state.stat.mzxid == 0, "a child's creation does not modify the parent's data"
        assert root.state.stat.num_children == 1
        assert system_storage.count_nodes() == 2

    def test_commit_refused_without_the_lock(self, system_storage: SystemStorage) -> None:
        held = new_lock()
        assert system_storage.lock_node("/a", held, HOLD) is not None
        commit = Commit(5, new_lock().token, (NodeUpdate("/a", NodeState(True, Stat()), created=True),), "", None)
        assert not system_storage.commit(commit)
        node = system_storage.read_node("/a")
        assert node is not None
        assert not node.exists
        assert node.lock == held
        assert node.pending == ()
        absent = Commit(6, held.token, (NodeUpdate("/never-locked", NodeState(True, Stat())),), "", None)
        assert not system_storage.commit(absent), "a node that was never locked cannot be committed"
        assert system_storage.read_node("/never-locked") is None

    def test_commit_is_atomic_over_nodes(self, system_storage: SystemStorage) -> None:
        ours, theirs = new_lock(), new_lock()
        root = system_storage.lock_node("/", ours, HOLD)
        assert root is not None
        assert system_storage.lock_node("/a", theirs, HOLD) is not None
        commit = Commit(
            9,
            ours.token,
            (
                NodeUpdate("/", NodeState(True, root.state.stat, ("a",)), children_changed=True),
                NodeUpdate("/a", NodeState(True, Stat()), created=True),
            ),
            "",
            None,
        )
        assert not system_storage.commit(commit)
        after = system_storage.read_node("/")
        assert after is not None
        assert after.state.children == (), "a refused commit must write nothing, not even nodes it held"
        assert after.pending == ()
        assert after.lock == ours

    def test_a_commit_of_a_transactions_sixty_nodes_is_all_or_nothing(self, system_storage: SystemStorage) -> None:
        """A transaction's commit: one atomic write over many nodes (below every provider's limit)."""
        names = [f"t{i:02d}" for i in range(59)]
        ours = new_lock()
        root = system_storage.lock_node("/", ours, HOLD)
        assert root is not None
        for name in names:
            assert system_storage.lock_node(f"/{name}", ours, HOLD) is not None
        created = tuple(NodeUpdate(f"/{name}", NodeState(True, Stat()), created=True) for name in names)
        parent = NodeUpdate("/", NodeState(True, root.state.stat, tuple(names)), children_changed=True)
        assert system_storage.commit(Commit(11, ours.token, (*created, parent), "", None))
        for name in names:
            node = system_storage.read_node(f"/{name}")
            assert node is not None
            assert (node.exists, node.lock, node.pending) == (True, None, (11,))
        again, theirs = new_lock(), new_lock()
        for name in names[:-1]:
            assert system_storage.lock_node(f"/{name}", again, HOLD) is not None
        assert system_storage.lock_node(f"/{names[-1]}", theirs, HOLD) is not None
        modified = tuple(
            NodeUpdate(f"/{name}", NodeState(True, Stat(version=1)), modified=True) for name in reversed(names)
        )
        assert not system_storage.commit(Commit(12, again.token, modified, "", None))
        for name in names:
            node = system_storage.read_node(f"/{name}")
            assert node is not None
            assert (node.state.stat.version, node.pending) == (0, (11,)), f"/{name} changed by a refused commit"

    def test_commit_refused_after_lock_taken_over(self, system_storage: SystemStorage) -> None:
        now = time.time()
        old = new_lock(now - 2 * HOLD)
        system_storage.lock_node("/a", old, HOLD)
        assert system_storage.lock_node("/a", new_lock(now), HOLD) is not None
        commit = Commit(3, old.token, (NodeUpdate("/a", NodeState(True, Stat()), created=True),), "", None)
        assert not system_storage.commit(commit)
        node = system_storage.read_node("/a")
        assert node is not None
        assert not node.exists

    def test_pending_transactions_keep_their_order(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 5)
        lock = new_lock()
        node = system_storage.lock_node("/a", lock, HOLD)
        assert node is not None
        assert node.pending == (5,), "locking keeps the pending list"
        modified = NodeUpdate("/a", NodeState(True, node.state.stat.updated(version=1)), modified=True)
        assert system_storage.commit(Commit(8, lock.token, (modified,), "", None))
        node = system_storage.read_node("/a")
        assert node is not None
        assert node.pending == (5, 8)
        assert node.state.stat.version == 1
        assert (node.state.stat.czxid, node.state.stat.mzxid, node.state.stat.pzxid) == (5, 8, 5)
        system_storage.claim_transaction(["/a", "/"], 5)
        node = system_storage.read_node("/a")
        root = system_storage.read_node("/")
        assert node is not None
        assert root is not None
        assert node.pending == (8,)
        assert root.pending == ()

    def test_commit_marks_the_request_on_the_node_locked_first(self, system_storage: SystemStorage) -> None:
        session, other = new_session(), new_session()
        assert system_storage.create_session(session)
        assert system_storage.record_outcome(session.session_id, 2, {"seq": 2, "ok": False})
        create_node(system_storage, "/a", 5)
        lock = new_lock()
        assert system_storage.lock_node("/", lock, HOLD) is not None
        node = system_storage.lock_node("/a", lock, HOLD)
        assert node is not None
        assert node.requests == {}
        updates = (
            NodeUpdate("/a", NodeState(False, node.state.stat), modified=True),
            NodeUpdate("/", NodeState(True, Stat(cversion=2)), children_changed=True),
        )
        commit = Commit(6, lock.token, updates, session.session_id, 3, timestamp=100.5)
        assert commit.record_path == "/"
        assert system_storage.commit(commit)
        root = system_storage.read_node("/")
        assert root is not None
        assert root.requests == {session.session_id: RequestMark(3, 100.5)}
        assert root.committed(session.session_id, 3)
        assert not root.committed(session.session_id, 4)
        assert not root.committed(other.session_id, 1)
        tombstone = system_storage.read_node("/a")
        assert tombstone is not None
        assert tombstone.requests == {}, "only the node locked first carries the mark"
        stored = system_storage.read_session(session.session_id)
        assert stored is not None
        assert (stored.last_seq, stored.last_outcome) == (2, {"seq": 2, "ok": False}), "a commit leaves the session"

        lock = new_lock()
        root = system_storage.lock_node("/", lock, HOLD)
        assert root is not None
        assert root.requests == {session.session_id: RequestMark(3, 100.5)}, "locking returns the marks"
        update = NodeUpdate("/", NodeState(True, root.state.stat.updated(version=1)), modified=True)
        assert system_storage.commit(Commit(7, lock.token, (update,), other.session_id, 9, timestamp=200.0))
        root = system_storage.read_node("/")
        assert root is not None
        assert root.requests == {session.session_id: RequestMark(3, 100.5), other.session_id: RequestMark(9, 200.0)}

        lock = new_lock()
        assert system_storage.lock_node("/", lock, HOLD) is not None
        forgetting = Commit(
            8, lock.token, (update,), other.session_id, 10, timestamp=300.0, forget=(session.session_id,)
        )
        assert system_storage.commit(forgetting)
        root = system_storage.read_node("/")
        assert root is not None
        assert root.requests == {other.session_id: RequestMark(10, 300.0)}, "forgotten marks are dropped"

        lock = new_lock()
        assert system_storage.lock_node("/", lock, HOLD) is not None
        assert system_storage.commit(Commit(9, lock.token, (update,), other.session_id, None, timestamp=400.0))
        root = system_storage.read_node("/")
        assert root is not None
        assert root.requests == {other.session_id: RequestMark(10, 300.0)}, "a write of no request marks nothing"

    def test_commit_hands_a_deleted_nodes_marks_to_the_record_node(self, system_storage: SystemStorage) -> None:
        deleter, setter, both = new_session(), new_session(), new_session()
        create_node(system_storage, "/a", 5)
        lock = new_lock()
        assert system_storage.lock_node("/", lock, HOLD) is not None
        node = system_storage.lock_node("/a", lock, HOLD)
        assert node is not None
        updates = (
            NodeUpdate("/a", NodeState(False, node.state.stat), modified=True),
            NodeUpdate("/", NodeState(True, Stat(cversion=2)), children_changed=True),
        )
        inherited = {setter.session_id: RequestMark(4, 50.0), both.session_id: RequestMark(7, 60.0)}
        commit = Commit(6, lock.token, updates, deleter.session_id, 3, timestamp=100.5, inherited=inherited)
        assert system_storage.commit(commit)
        root = system_storage.read_node("/")
        assert root is not None
        assert root.requests == {**inherited, deleter.session_id: RequestMark(3, 100.5)}
        assert root.committed(setter.session_id, 4), "a request recorded on the deleted node is found on its parent"

        lock = new_lock()
        assert system_storage.lock_node("/", lock, HOLD) is not None
        update = NodeUpdate("/", NodeState(True, root.state.stat.updated(version=1)), modified=True)
        later = {both.session_id: RequestMark(8, 70.0)}
        forgetting = Commit(
            7,
            lock.token,
            (update,),
            deleter.session_id,
            None,
            timestamp=200.0,
            forget=(setter.session_id,),
            inherited=later,
        )
        assert system_storage.commit(forgetting)
        root = system_storage.read_node("/")
        assert root is not None
        assert root.requests == {both.session_id: RequestMark(8, 70.0), deleter.session_id: RequestMark(3, 100.5)}

    # -- claiming transactions -------------------------------------------------------------

    def test_claim_takes_a_committed_transaction_off_pending(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 5)
        assert system_storage.claim_transaction(["/a", "/"], 5)
        for path in ("/a", "/"):
            node = system_storage.read_node(path)
            assert node is not None
            assert (node.pending, node.claimed) == ((), 5), path
        assert system_storage.claim_transaction(["/a", "/"], 5), "a claimed transaction is claimed again"

    def test_claim_of_an_uncommitted_transaction_writes_nothing(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 5)
        lock = new_lock()
        node = system_storage.lock_node("/a", lock, HOLD)
        assert node is not None
        assert not system_storage.claim_transaction(["/a"], 6), "pushed, not committed"
        assert not system_storage.claim_transaction(["/a", "/nowhere"], 6), "the deciding node is missing"
        node = system_storage.read_node("/a")
        root = system_storage.read_node("/")
        assert node is not None
        assert root is not None
        assert (node.pending, node.claimed, node.lock) == ((5,), 0, lock)
        assert (root.pending, root.claimed) == ((5,), 0)

    def test_claim_of_a_superseded_transaction_fails(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 5)
        assert system_storage.claim_transaction(["/a", "/"], 5)
        lock = new_lock()
        node = system_storage.lock_node("/a", lock, HOLD)
        assert node is not None
        modified = NodeUpdate("/a", NodeState(True, node.state.stat.updated(version=1)), modified=True)
        assert system_storage.commit(Commit(8, lock.token, (modified,), "", None))
        assert system_storage.claim_transaction(["/a"], 8)
        assert not system_storage.claim_transaction(["/a", "/"], 5), "a later write was claimed on /a"
        node = system_storage.read_node("/a")
        assert node is not None
        assert (node.claimed, node.state.stat.version) == (8, 1)

    def test_claim_drops_tombstones(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 5)
        system_storage.claim_transaction(["/a", "/"], 5)
        delete_node(system_storage, "/a", 6)
        tombstone = system_storage.read_node("/a")
        assert tombstone is not None, "a deleted node stays as a tombstone while its delete is pending"
        assert not tombstone.exists
        assert tombstone.pending == (6,)
        assert system_storage.count_nodes() == 1
        root = system_storage.read_node("/")
        assert root is not None
        assert root.state.children == ()
        assert system_storage.claim_transaction(["/a", "/"], 6)
        assert system_storage.read_node("/a") is None
        root = system_storage.read_node("/")
        assert root is not None
        assert (root.exists, root.claimed) == (True, 6)
        assert system_storage.claim_transaction(["/a", "/"], 6), "the dropped tombstone was claimed"
        lock = new_lock()
        assert system_storage.lock_node("/a", lock, HOLD) is not None
        assert system_storage.claim_transaction(["/a", "/"], 6), "and the path locked again since"

    def test_claim_keeps_locked_tombstones(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/a", 5)
        system_storage.claim_transaction(["/a", "/"], 5)
        delete_node(system_storage, "/a", 6)
        lock = new_lock()
        assert system_storage.lock_node("/a", lock, HOLD) is not None
        assert system_storage.claim_transaction(["/a", "/"], 6)
        node = system_storage.read_node("/a")
        assert node is not None, "a tombstone another writer holds must not be dropped"
        assert node.lock == lock
        assert node.pending == ()

    # -- ephemeral nodes -------------------------------------------------------------------

    def test_ephemeral_nodes_by_owner(self, system_storage: SystemStorage) -> None:
        create_node(system_storage, "/e1", 1, owner="s1")
        create_node(system_storage, "/p", 2)
        create_node(system_storage, "/e2", 3, owner="s1")
        create_node(system_storage, "/p/e3", 4, owner="s2")
        assert sorted(system_storage.ephemeral_nodes("s1")) == ["/e1", "/e2"]
        assert system_storage.ephemeral_nodes("s2") == ["/p/e3"]
        assert system_storage.ephemeral_nodes("nobody") == []
        delete_node(system_storage, "/e1", 5)
        assert system_storage.ephemeral_nodes("s1") == ["/e2"], "a deleted node is no longer owned"


class SystemStorageSuite(SystemNodeSuite, SystemSessionSuite, WatchTallySuite):
    """All of SystemStorage: node rows, sessions and watches."""
