"""Which request marks a commit keeps on the node it records its request on."""

from __future__ import annotations

from faaskeeper.api.storage import Commit, NodeState, NodeUpdate, RequestMark, SystemNode
from faaskeeper.protocol.messages import DistributorEvent, EventKind, Op
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.writer import commit_of

NOW = 10_000.0


def _event(session: str) -> DistributorEvent:
    updates = (NodeUpdate("/a", NodeState(True), modified=True),)
    return DistributorEvent(
        kind=EventKind.COMMIT, session_id=session, seq=7, reply_to="", op=Op.SET_DATA, lock_token="t", updates=updates
    )


def test_marks_older_than_the_redelivery_window_are_forgotten_and_the_own_one_replaced() -> None:
    settings = FunctionSettings(redelivery_window=60.0, clock=lambda: NOW)
    recorded = SystemNode(
        "/a",
        NodeState(True),
        requests={
            "expired": RequestMark(3, NOW - 61),
            "recent": RequestMark(9, NOW - 59),
            "mine": RequestMark(6, NOW - 600),
        },
    )
    commit = commit_of(_event("mine"), 42, settings, request_seq=7, recorded=recorded)
    assert commit.forget == ("expired",), "the writer's own old mark is replaced, not removed"
    assert (commit.timestamp, commit.record_path) == (NOW, "/a")
    assert commit.marks(recorded.requests) == {"recent": RequestMark(9, NOW - 59), "mine": RequestMark(7, NOW)}


def test_a_commit_for_no_request_keeps_every_mark_but_the_forgotten() -> None:
    marks = {"a": RequestMark(1, 5.0), "b": RequestMark(2, 6.0)}
    commit = Commit(1, "t", (NodeUpdate("/", NodeState(True)),), "a", None, timestamp=9.0, forget=("b",))
    assert commit.marks(marks) == {"a": RequestMark(1, 5.0)}
    assert SystemNode("/", NodeState(True), requests=marks).committed("a", 1)
    assert not SystemNode("/", NodeState(True), requests=marks).committed("a", 2)
