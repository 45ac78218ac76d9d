"""The checker on hand-made histories: it passes valid ones and catches each kind of violation."""

from __future__ import annotations

from faaskeeper.check.checker import check
from faaskeeper.check.history import History, SessionEnd, WatchNotice

from .histories import call, concurrent_register, node

CREATED = call("a", 0, "create", "/n", 0.0, 1.0, data="00", result={"path": "/n", "czxid": 1})


def properties(history: History, **options: bool) -> set[str]:
    return {v.property for v in check(history, **options).violations}


def test_concurrent_writes_in_some_valid_order_pass() -> None:
    history = History(
        calls=[
            CREATED,
            # Two overlapping conditional sets at version 0: only one may win, either one.
            call("a", 1, "set", "/n", 2.0, 5.0, data="aa", version=0, ok=False, error="BadVersion"),
            call("b", 0, "set", "/n", 2.5, 4.0, data="bb", version=0, result={"version": 1, "mzxid": 2}),
            call("c", 0, "get", "/n", 6.0, 7.0, result=node("bb", 1, 2)),
            # No response: it may have taken effect (the get below says it did).
            call("c", 1, "set", "/n", 8.0, None, data="cc"),
            call("a", 2, "get", "/n", 20.0, 21.0, result=node("cc", 2, 3)),
            call("a", 3, "delete", "/n", 22.0, 23.0, version=2),
            call("b", 1, "set", "/n", 24.0, 25.0, data="dd", ok=False, error="NoNode"),
        ]
    )
    report = check(history, linearizable_reads=True)
    assert report.violations == []
    assert report.operations == 8


def test_a_lost_update_is_not_linearizable() -> None:
    # Two conditional sets at version 0, one after the other, both succeed: the lock was skipped.
    history = History(
        calls=[
            CREATED,
            call("a", 1, "set", "/n", 2.0, 3.0, data="aa", version=0, result={"version": 1, "mzxid": 2}),
            call("b", 0, "set", "/n", 4.0, 5.0, data="bb", version=0, result={"version": 1, "mzxid": 3}),
        ]
    )
    report = check(history)
    assert [v.property for v in report.violations] == ["linearizable"]
    assert "b#0 set /n data=bb version=0" in report.violations[0].message


def test_a_stale_failure_is_not_linearizable() -> None:
    history = History(calls=[CREATED, call("b", 0, "set", "/n", 2.0, 3.0, version=0, ok=False, error="BadVersion")])
    assert properties(history) == {"linearizable"}


def test_a_create_of_an_existing_node_that_succeeds_is_caught() -> None:
    history = History(
        calls=[CREATED, call("b", 0, "create", "/n", 2.0, 3.0, data="01", result={"path": "/n", "czxid": 2})]
    )
    assert properties(history) == {"linearizable"}


def test_transaction_ids_against_real_time() -> None:
    history = History(
        calls=[
            CREATED,
            call("a", 1, "set", "/n", 2.0, 3.0, data="01", result={"version": 1, "mzxid": 9}),
            call("b", 0, "create", "/m", 4.0, 5.0, data="", result={"path": "/m", "czxid": 5}),
        ]
    )
    assert properties(history) == {"linearizable"}
    duplicate = History(
        calls=[CREATED, call("b", 0, "create", "/m", 4.0, 5.0, data="", result={"path": "/m", "czxid": 1})]
    )
    assert properties(duplicate) == {"linearizable"}


def test_stale_linearizable_read_only_when_asked() -> None:
    history = History(
        calls=[
            CREATED,
            call("a", 1, "set", "/n", 2.0, 3.0, data="01", result={"version": 1, "mzxid": 2}),
            call("b", 0, "get", "/n", 4.0, 5.0, result=node("00", 0, 1)),
        ]
    )
    assert properties(history) == set(), "a stale read by another session is allowed by ZooKeeper"
    assert properties(history, linearizable_reads=True) == {"linearizable"}


def test_fifo_completion_and_effect_order() -> None:
    out_of_order = History(
        calls=[
            call("a", 0, "create", "/x", 0.0, 2.0, data="", result={"path": "/x", "czxid": 1}),
            call("a", 1, "create", "/y", 0.5, 1.0, data="", result={"path": "/y", "czxid": 2}),
        ]
    )
    out_of_order.calls[0].completed, out_of_order.calls[1].completed = 1, 0
    assert properties(out_of_order) == {"fifo"}
    effects = History(
        calls=[
            call("a", 0, "create", "/x", 0.0, 1.0, data="", result={"path": "/x", "czxid": 4}),
            call("a", 1, "create", "/y", 0.5, 1.5, data="", result={"path": "/y", "czxid": 3}),
        ]
    )
    assert properties(effects) == {"fifo"}


def test_a_read_going_back_is_caught() -> None:
    history = History(
        calls=[
            CREATED,
            call("a", 1, "set", "/n", 2.0, 3.0, data="01", result={"version": 1, "mzxid": 2}),
            call("a", 2, "get", "/n", 4.0, 5.0, result=node("00", 0, 1)),
        ]
    )
    assert properties(history) == {"monotonic"}


def test_a_read_of_data_no_one_wrote_is_caught() -> None:
    history = History(calls=[CREATED, call("b", 0, "get", "/n", 2.0, 3.0, result=node("ff", 0, 1))])
    assert properties(history) == {"reads"}


def _watched(notice_time: float) -> History:
    return History(
        calls=[
            CREATED,
            call("w", 0, "get", "/n", 1.5, 1.8, watch=True, result=node("00", 0, 1)),
            call("a", 1, "set", "/n", 2.0, 3.0, data="01", result={"version": 1, "mzxid": 2}),
            call("w", 1, "get", "/n", 4.0, 5.0, result=node("01", 1, 2)),
        ],
        notices=[WatchNotice("w", "/n", "NodeDataChanged", 2, notice_time)],
    )


def test_watch_before_data() -> None:
    assert properties(_watched(2.9)) == set()
    assert properties(_watched(5.5)) == {"watch-before-data"}, "the notification came after the read showed it"
    stray = _watched(2.9)
    stray.notices.append(WatchNotice("a", "/n", "NodeDeleted", 7, 3.5))
    assert properties(stray) == {"watch-before-data"}, "a notification without a watch"


def test_sequential_suffixes() -> None:
    def made(index: int, suffix: int, czxid: int) -> object:
        result = {"path": f"/q/s-{suffix:010d}", "czxid": czxid}
        return call(f"s{index}", 0, "create", "/q/s-", float(index), index + 0.5, sequential=True, result=result)

    assert properties(History(calls=[made(1, 0, 2), made(2, 1, 3)])) == set()  # type: ignore[list-item]
    assert properties(History(calls=[made(1, 0, 2), made(2, 0, 3)])) == {"sequential"}  # type: ignore[list-item]
    assert properties(History(calls=[made(1, 1, 2), made(2, 0, 3)])) == {"sequential"}  # type: ignore[list-item]


def test_ephemerals_gone_after_their_session() -> None:
    created = call("e", 0, "create", "/eph", 0.0, 1.0, data="", ephemeral=True, result={"path": "/eph", "czxid": 1})
    gone = call("r", 0, "exists", "/eph", 3.0, 4.0, result=None)
    history = History(calls=[created, gone], ends=[SessionEnd("e", "closed", 2.0)], final={})
    assert properties(history) == set()
    seen = call("r", 0, "exists", "/eph", 3.0, 4.0, result=node("", 0, 1, owner="e"))
    assert properties(History(calls=[created, seen], ends=[SessionEnd("e", "closed", 2.0)], final={})) == {"ephemeral"}
    left = History(calls=[created], ends=[SessionEnd("e", "lost")], final={"/eph": {"owner": "e"}})
    assert properties(left) == {"ephemeral"}


def test_hundreds_of_concurrent_operations_per_node() -> None:
    for seed in range(3):
        history = concurrent_register(400, 5, seed)
        report = check(history, linearizable_reads=True)
        assert report.inconclusive == []
        assert report.violations == [], report.violations[:3]
        # The same history with one read made stale must fail.
        reads = [c for c in history.calls if c.op == "get" and c.result["version"] > 2]
        reads[-1].result = {**reads[-1].result, "version": 1}
        assert "linearizable" in properties(history, linearizable_reads=True)
