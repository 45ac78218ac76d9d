"""Conformance of :class:`~faaskeeper.api.storage.SystemStorage`'s session and watch records."""

from __future__ import annotations

import uuid

from faaskeeper.api.storage import NO_NODE, SessionRecord, SessionStatus, SystemStorage, WatchKind, WatchRecord
from faaskeeper.testing.fixtures import ConformanceFixtures


def new_session(session_id: str | None = None) -> SessionRecord:
    return SessionRecord(
        session_id=session_id or uuid.uuid4().hex[:16],
        channel="tcp://127.0.0.1:9",
        token_digest="d" * 64,
        heartbeat=False,
        created=1700000000.5,
    )


class SystemSessionSuite(ConformanceFixtures):
    """SystemStorage's sessions (registration, outcomes, liveness) and watches (one-shot, by counter)."""

    # -- sessions ------------------------------------------------------------------------

    def test_session_round_trip(self, system_storage: SystemStorage) -> None:
        session = new_session()
        assert system_storage.create_session(session)
        stored = system_storage.read_session(session.session_id)
        assert stored == session
        assert stored is not None
        session.last_seq = 50
        stored.last_seq = 60
        again = system_storage.read_session(session.session_id)
        assert again is not None
        assert again.last_seq == 0, "records are values: changing an object passed in or out changes nothing stored"
        assert [s.session_id for s in system_storage.list_sessions()] == [session.session_id]
        assert system_storage.read_session("unknown") is None

    def test_session_id_is_unique(self, system_storage: SystemStorage) -> None:
        session = new_session()
        assert system_storage.create_session(session)
        other = new_session(session.session_id)
        other.channel = "tcp://127.0.0.1:10"
        assert not system_storage.create_session(other)
        stored = system_storage.read_session(session.session_id)
        assert stored is not None
        assert stored.channel == session.channel, "a refused registration must not overwrite the session"

    def test_delete_session(self, system_storage: SystemStorage) -> None:
        kept, gone = new_session(), new_session()
        assert system_storage.create_session(kept)
        assert system_storage.create_session(gone)
        system_storage.delete_session(gone.session_id)
        system_storage.delete_session("unknown")
        assert system_storage.read_session(gone.session_id) is None
        assert [s.session_id for s in system_storage.list_sessions()] == [kept.session_id]

    def test_record_outcome_only_moves_forward(self, system_storage: SystemStorage) -> None:
        session = new_session()
        assert system_storage.create_session(session)
        outcome = {"kind": "result", "seq": 3, "ok": False, "error": "NodeExists", "nested": {"a": [1, 2]}}
        assert system_storage.record_outcome(session.session_id, 3, outcome)
        stored = system_storage.read_session(session.session_id)
        assert stored is not None
        assert stored.last_seq == 3
        assert stored.last_outcome == outcome
        assert not system_storage.record_outcome(session.session_id, 3, {"seq": 3, "other": True})
        assert not system_storage.record_outcome(session.session_id, 2, {"seq": 2})
        stored = system_storage.read_session(session.session_id)
        assert stored is not None
        assert stored.last_outcome == outcome
        assert not system_storage.record_outcome("unknown", 1, {"seq": 1})
        assert system_storage.read_session("unknown") is None

    def test_touch_session_records_silence(self, system_storage: SystemStorage) -> None:
        session = new_session()
        assert system_storage.create_session(session)
        system_storage.touch_session(session.session_id, 1700000123.5)
        stored = system_storage.read_session(session.session_id)
        assert stored is not None
        assert stored.silent_since == 1700000123.5
        assert stored.last_seq == session.last_seq
        system_storage.touch_session(session.session_id, 0.0)
        stored = system_storage.read_session(session.session_id)
        assert stored is not None
        assert stored.silent_since == 0.0
        system_storage.touch_session("unknown", 1.0)
        assert system_storage.read_session("unknown") is None, "touching creates no session"

    def test_end_session_keeps_the_first_end_and_drain_follows_it(self, system_storage: SystemStorage) -> None:
        session = new_session()
        assert system_storage.create_session(session)
        ended = system_storage.end_session(session.session_id, 1700000200.25)
        assert ended is not None
        assert (ended.status, ended.ended_at, ended.active) == (SessionStatus.ENDING, 1700000200.25, False)
        assert ended.token_digest == session.token_digest, "the record keeps what a sweep's proof needs"
        again = system_storage.end_session(session.session_id, 1700000999.0)
        assert again is not None
        assert (again.status, again.ended_at) == (SessionStatus.ENDING, 1700000200.25), "the first end stays"
        assert system_storage.read_session(session.session_id) == ended
        system_storage.drain_session(session.session_id)
        drained = system_storage.read_session(session.session_id)
        assert drained is not None
        assert (drained.status, drained.ended_at) == (SessionStatus.DRAINED, 1700000200.25)
        ended_again = system_storage.end_session(session.session_id, 1700001000.0)
        assert ended_again is not None
        assert ended_again.status == SessionStatus.DRAINED, "a drained session never goes back to ending"
        assert [s.status for s in system_storage.list_sessions()] == [SessionStatus.DRAINED]
        assert system_storage.end_session("unknown", 1.0) is None
        system_storage.drain_session("unknown")
        assert system_storage.read_session("unknown") is None, "ending or draining creates no session"

    def test_drain_moves_only_an_ending_session(self, system_storage: SystemStorage) -> None:
        session = new_session()
        assert system_storage.create_session(session)
        system_storage.drain_session(session.session_id)
        stored = system_storage.read_session(session.session_id)
        assert stored is not None
        assert stored.active, "an active session is not drained"

    # -- watches -------------------------------------------------------------------------

    def test_watch_fires_only_on_later_transactions(self, system_storage: SystemStorage) -> None:
        watch = WatchRecord("/a", WatchKind.DATA, "s1", 5, "tcp://127.0.0.1:9")
        system_storage.add_watch(watch)
        assert system_storage.count_watches() == 1
        assert system_storage.triggered_watches("/a", [WatchKind.DATA], 6) == [watch]
        assert system_storage.triggered_watches("/a", [WatchKind.DATA, WatchKind.EXISTS], 6) == [watch]
        assert system_storage.triggered_watches("/a", [WatchKind.DATA], 5) == [], "never on an update as old"
        assert system_storage.triggered_watches("/a", [WatchKind.EXISTS, WatchKind.CHILDREN], 6) == []
        assert system_storage.triggered_watches("/b", [WatchKind.DATA], 6) == []
        assert system_storage.triggered_watches("/a/b", [WatchKind.DATA], 6) == []

    def test_watch_on_a_missing_node_fires_on_any_transaction(self, system_storage: SystemStorage) -> None:
        watch = WatchRecord("/later", WatchKind.EXISTS, "s1", NO_NODE, "tcp://127.0.0.1:9")
        system_storage.add_watch(watch)
        assert system_storage.triggered_watches("/later", [WatchKind.EXISTS], 1) == [watch]

    def test_one_watch_per_session_kind_and_path(self, system_storage: SystemStorage) -> None:
        system_storage.add_watch(WatchRecord("/a", WatchKind.DATA, "s1", 5, "tcp://127.0.0.1:9"))
        system_storage.add_watch(WatchRecord("/a", WatchKind.DATA, "s1", 3, "tcp://127.0.0.1:9"))
        assert system_storage.count_watches() == 1
        assert system_storage.triggered_watches("/a", [WatchKind.DATA], 4) == [], "the larger counter wins"
        assert [w.counter for w in system_storage.triggered_watches("/a", [WatchKind.DATA], 6)] == [5]
        system_storage.add_watch(WatchRecord("/a", WatchKind.DATA, "s1", 8, "tcp://127.0.0.1:9"))
        assert system_storage.triggered_watches("/a", [WatchKind.DATA], 6) == []
        system_storage.add_watch(WatchRecord("/a", WatchKind.EXISTS, "s1", 8, "tcp://127.0.0.1:9"))
        system_storage.add_watch(WatchRecord("/a", WatchKind.DATA, "s2", 8, "tcp://127.0.0.1:10"))
        assert system_storage.count_watches() == 3
        found = system_storage.triggered_watches("/a", [WatchKind.DATA, WatchKind.EXISTS], 9)
        assert sorted((w.session_id, w.kind.value, w.address) for w in found) == [
            ("s1", "data", "tcp://127.0.0.1:9"),
            ("s1", "exists", "tcp://127.0.0.1:9"),
            ("s2", "data", "tcp://127.0.0.1:10"),
        ]

    def test_remove_watches_spares_ones_set_again(self, system_storage: SystemStorage) -> None:
        fired = WatchRecord("/a", WatchKind.DATA, "s1", 5, "tcp://127.0.0.1:9")
        other = WatchRecord("/a", WatchKind.DATA, "s2", 5, "tcp://127.0.0.1:10")
        system_storage.add_watch(fired)
        system_storage.add_watch(other)
        system_storage.add_watch(WatchRecord("/a", WatchKind.DATA, "s1", 7, "tcp://127.0.0.1:9"))
        system_storage.remove_watches([fired, other])
        remaining = system_storage.triggered_watches("/a", [WatchKind.DATA], 100)
        assert [(w.session_id, w.counter) for w in remaining] == [("s1", 7)], "set again after firing: kept"
        system_storage.remove_watches([WatchRecord("/a", WatchKind.DATA, "s1", 7, "tcp://127.0.0.1:9")])
        assert system_storage.count_watches() == 0
        system_storage.remove_watches([other])

    def test_remove_session_watches(self, system_storage: SystemStorage) -> None:
        for path in ("/a", "/b"):
            system_storage.add_watch(WatchRecord(path, WatchKind.CHILDREN, "s1", 1, "tcp://127.0.0.1:9"))
        system_storage.add_watch(WatchRecord("/a", WatchKind.CHILDREN, "s2", 1, "tcp://127.0.0.1:10"))
        system_storage.remove_session_watches("s1")
        system_storage.remove_session_watches("unknown")
        assert system_storage.count_watches() == 1
        assert [w.session_id for w in system_storage.triggered_watches("/a", [WatchKind.CHILDREN], 2)] == ["s2"]
        assert system_storage.triggered_watches("/b", [WatchKind.CHILDREN], 2) == []
