"""The checker on histories with transactions: a multi takes effect on all its nodes at one
instant, or on none; its failure must fit the state the operations before the failing one leave."""

from __future__ import annotations

from pathlib import Path

import pytest

from faaskeeper.check.checker import check
from faaskeeper.check.history import Call, History, SessionEnd
from faaskeeper.check.soak import SoakOptions, count_multis, local_config, run_round
from faaskeeper.plugins.manager import get_provider

from .histories import call, node

CREATED = [
    call("a", 0, "create", "/a", 0.0, 1.0, data="00", result={"path": "/a", "czxid": 1}),
    call("a", 1, "create", "/b", 1.5, 2.0, data="00", result={"path": "/b", "czxid": 2}),
]


def _set(path: str, data: str, version: int = -1) -> dict[str, object]:
    return {"op": "set", "path": path, "data": data, "version": version}


def properties(history: History, **options: bool) -> set[str]:
    return {v.property for v in check(history, **options).violations}


def test_concurrent_transactions_in_some_order_pass() -> None:
    history = History(
        calls=[
            *CREATED,
            call(
                "b",
                0,
                "multi",
                "/a",
                3.0,
                6.0,
                ops=[_set("/a", "b1", 0), _set("/b", "b1", 0)],
                result={"txn": 4, "versions": [1, 1]},
            ),
            call(
                "c",
                0,
                "multi",
                "/a",
                3.5,
                5.0,
                ops=[_set("/a", "c1"), _set("/b", "c1")],
                result={"txn": 3, "versions": [1, 1]},
                ok=False,
                error="BadVersion",
            ),
            call("c", 1, "get", "/b", 7.0, 8.0, result=node("b1", 1, 4, czxid=2)),
        ]
    )
    # c's multi failed (its result says nothing of which op): only an unrelated failure fits.
    assert properties(history) == {"linearizable"}
    history.calls[3].ok, history.calls[3].error = True, None
    history.calls[3].result = {"txn": 3, "versions": [1, 1]}
    history.calls[2].result = {"txn": 4, "versions": [2, 2]}
    history.calls[2].ops = [_set("/a", "b1", 1), _set("/b", "b1", 1)]
    history.calls[4].result = node("b1", 2, 4, czxid=2)
    assert check(history, linearizable_reads=True).violations == []


def test_a_transaction_applied_on_some_nodes_only_is_caught() -> None:
    # M2 comes after M1 on /a (it saw version 1) and before it on /b (it saw version 0): no
    # single instant for each, though each node alone has a valid order.
    history = History(
        calls=[
            *CREATED,
            call(
                "b",
                0,
                "multi",
                "/a",
                3.0,
                4.0,
                ops=[_set("/a", "m1", 0), _set("/b", "m1", 0)],
                result={"txn": 3, "versions": [1, 1]},
            ),
            call(
                "c",
                0,
                "multi",
                "/a",
                3.0,
                4.0,
                ops=[_set("/a", "m2", 1), _set("/b", "m2", 0)],
                result={"txn": 4, "versions": [2, 1]},
            ),
        ]
    )
    report = check(history)
    assert [v.property for v in report.violations] == ["linearizable"]
    assert "/a, /b" in report.violations[0].message


def test_a_failed_transaction_must_fail_where_it_says_and_change_nothing() -> None:
    check_b = {"op": "check", "path": "/b", "version": 5}
    failed = call(
        "b",
        0,
        "multi",
        "/a",
        3.0,
        4.0,
        ops=[_set("/a", "x"), check_b],
        ok=False,
        error="BadVersion",
        result={"failed": 1},
    )
    unchanged = call("b", 1, "set", "/a", 5.0, 6.0, data="y", version=0, result={"version": 1, "mzxid": 5})
    assert properties(History(calls=[*CREATED, failed, unchanged])) == set()
    applied = call("b", 1, "set", "/a", 5.0, 6.0, data="y", version=1, result={"version": 2, "mzxid": 5})
    assert properties(History(calls=[*CREATED, failed, applied])) == {"linearizable"}, "the failed set took effect"
    wrong_op = call(
        "b",
        0,
        "multi",
        "/a",
        3.0,
        4.0,
        ops=[_set("/a", "x"), check_b],
        ok=False,
        error="BadVersion",
        result={"failed": 0},
    )
    assert properties(History(calls=[*CREATED, wrong_op])) == {"linearizable"}, "the set could not fail"


def test_a_read_of_data_a_transaction_wrote_is_a_written_read() -> None:
    history = History(
        calls=[
            *CREATED,
            call(
                "b",
                0,
                "multi",
                "/a",
                3.0,
                4.0,
                ops=[_set("/a", "aa"), _set("/b", "bb")],
                result={"txn": 3, "versions": [1, 1]},
            ),
            call("c", 0, "get", "/b", 5.0, 6.0, result=node("bb", 1, 3, czxid=2)),
            call("c", 1, "get", "/a", 6.5, 7.0, result=node("zz", 1, 3)),
        ]
    )
    assert properties(history) == {"reads"}, "only the read of data nobody wrote is caught"


@pytest.mark.slow
def test_the_workload_issues_transactions_and_their_histories_check(tmp_path: Path) -> None:
    provider = get_provider("local")
    config = provider.deploy(local_config(tmp_path, "multi"), clean=True)
    options = SoakOptions(workers=3, calls=120, faults=0.0, kills=0.0, nodes=3, client_timeout=5.0)
    try:
        history = run_round(config, tmp_path, options)
    finally:
        provider.remove(config)
    multis = [c for c in history.calls if c.op == "multi"]
    assert multis, "the workload issued transactions"
    for multi in multis:
        if multi.known and not multi.ok and multi.error in ("NoNode", "BadVersion", "NodeExists"):
            assert isinstance(multi.result, dict), "a refused transaction records the operation that failed"
            assert 0 <= multi.result["failed"] < len(multi.ops or [])
    counts = count_multis(history)
    # A sample of a few dozen under contention: that each kind commits, not by what share.
    for kind in ("create-delete", "sequential"):
        assert counts[kind]["committed"] > 0, f"some {kind} transactions commit: {counts}"
    report = check(history)
    assert report.violations == [], report.violations[:3]
    assert report.inconclusive == []
    # The same history with one sequential name given again must fail.
    named: dict[str, list[tuple[Call, int]]] = {}
    for multi in multis:
        for i, part in enumerate(multi.ops or []):
            if multi.known and multi.ok and part.get("sequential"):
                named.setdefault(part["path"], []).append((multi, i))
    twice = [made for made in named.values() if len(made) >= 2]
    assert twice, "transactions created sequential nodes under one parent more than once"
    (first, i), (second, j) = twice[0][0], twice[0][-1]
    second.result["paths"][j] = first.result["paths"][i]
    assert {"sequential", "linearizable"} <= {v.property for v in check(history).violations}


def _create(path: str, *, ephemeral: bool = False, sequential: bool = False) -> dict[str, object]:
    return {"op": "create", "path": path, "data": "00", "ephemeral": ephemeral, "sequential": sequential}


def _delete(path: str, version: int = -1) -> dict[str, object]:
    return {"op": "delete", "path": path, "version": version}


PARENT = call("p", 0, "create", "/p", 0.0, 1.0, data="", result={"path": "/p", "czxid": 0})


def _made(
    session: str, index: int, at: float, ops: list[dict[str, object]], made: list[str | None], txn: int
) -> object:
    return call(session, index, "multi", str(ops[0]["path"]), at, at + 1.0, ops=ops, result={"txn": txn, "paths": made})


def test_transactions_that_create_and_delete_in_some_order_pass() -> None:
    seq = _create("/p/s-", sequential=True)
    history = History(
        calls=[
            PARENT,
            # Suffixes from /p's counter as the earlier ops leave it: the plain create moves it too.
            _made("b", 0, 2.0, [seq, _create("/p/x"), seq], ["/p/s-0000000000", "/p/x", "/p/s-0000000002"], 2),  # type: ignore[list-item]
            _made(
                "c",
                0,
                4.0,
                [_delete("/p/x"), seq, _create("/p/e", ephemeral=True)],
                [None, "/p/s-0000000004", "/p/e"],
                3,
            ),  # type: ignore[list-item]
            _made("b", 1, 6.0, [_delete("/p/s-0000000000"), seq], [None, "/p/s-0000000007"], 4),  # type: ignore[list-item]
            call("b", 2, "exists", "/p/e", 8.0, 8.5, result=node("00", 0, 3, czxid=3, owner="c")),
            call("c", 1, "exists", "/p/x", 8.0, 8.5, result=None),
            call("b", 3, "create", "/p/x", 9.0, 9.5, data="01", result={"path": "/p/x", "czxid": 5}),
        ],
        ends=[SessionEnd("c", "closed", 11.0, since=10.0)],
        final={"/p/x": {"owner": None}},
    )
    assert check(history).violations == []
    # Two failing transactions: a create of a node that exists, a delete of one that does not.
    history.calls.append(
        call(
            "d",
            0,
            "multi",
            "/p/y",
            12.0,
            12.5,
            ok=False,
            error="NodeExists",
            ops=[_create("/p/y"), _create("/p/x")],
            result={"failed": 1},
        )
    )
    history.calls.append(
        call(
            "d",
            1,
            "multi",
            "/p/x",
            13.0,
            13.5,
            ok=False,
            error="NoNode",
            ops=[seq, _delete("/p/zz")],
            result={"failed": 1},
        )
    )
    assert check(history).violations == [], "failures where the model fails them"


def _pair(*reads: Call) -> History:
    both = call(
        "b",
        0,
        "multi",
        "/p/a",
        2.0,
        3.0,
        ops=[_create("/p/a"), _create("/p/b")],
        result={"txn": None, "paths": ["/p/a", "/p/b"]},
    )
    return History(calls=[PARENT, both, *reads])


def test_a_transaction_seen_partially_applied_after_it_returned_is_caught() -> None:
    found = call("c", 0, "exists", "/p/a", 4.0, 4.5, result=node("00", 0, 2))
    assert properties(_pair(found, call("c", 1, "exists", "/p/b", 5.0, 5.5, result=node("00", 0, 2)))) == set()
    missing = call("c", 1, "exists", "/p/b", 5.0, 5.5, result=None)
    assert properties(_pair(found, missing)) == {"atomic"}
    assert properties(_pair(found, call("c", 1, "get", "/p/b", 5.0, 5.5, ok=False, error="NoNode"))) == {"atomic"}
    during = call("c", 1, "exists", "/p/b", 2.5, 5.5, result=None)
    assert properties(_pair(found, during)) == set(), "a read while the transaction is applied may see it or not"
    deleted = call("d", 0, "delete", "/p/b", 3.5, 4.0)
    assert properties(_pair(found, missing, deleted)) == set(), "deleted since"


def test_a_transaction_applied_twice_is_caught() -> None:
    first = _made("b", 0, 2.0, [_set("/a", "11", 0), _create("/p/s-", sequential=True)], [None, "/p/s-0000000000"], 3)
    first.result["versions"] = [1, None]  # type: ignore[attr-defined]
    once = [
        *CREATED,
        PARENT,
        first,
        _made("c", 0, 4.0, [_create("/p/s-", sequential=True)], ["/p/s-0000000001"], 4),
        call("c", 1, "set", "/a", 6.0, 6.5, data="22", version=1, result={"version": 2, "mzxid": 5}),
    ]
    assert properties(History(calls=once)) == set()  # type: ignore[arg-type]
    twice = [
        *once[:4],
        # Applied a second time: the counter moved twice and /a is at version 2.
        _made("c", 0, 4.0, [_create("/p/s-", sequential=True)], ["/p/s-0000000002"], 4),
        call("c", 1, "set", "/a", 6.0, 6.5, data="22", version=1, ok=False, error="BadVersion"),
    ]
    assert properties(History(calls=twice)) == {"linearizable"}  # type: ignore[arg-type]


def test_a_failed_transaction_whose_create_took_effect_is_caught() -> None:
    failed = call(
        "b",
        0,
        "multi",
        "/p/x",
        2.0,
        3.0,
        ok=False,
        error="NodeExists",
        ops=[_create("/p/x"), _create("/a")],
        result={"failed": 1},
    )
    later = call("c", 0, "create", "/p/x", 4.0, 5.0, data="01", result={"path": "/p/x", "czxid": 4})
    assert properties(History(calls=[*CREATED, PARENT, failed, later])) == set()
    refused = call("c", 0, "create", "/p/x", 4.0, 5.0, data="01", ok=False, error="NodeExists")
    assert properties(History(calls=[*CREATED, PARENT, failed, refused])) == {"linearizable"}, "/p/x was created"


@pytest.mark.parametrize(
    ("suffixes", "ok"),
    [((0, 1, 2), True), ((0, 2, 3), False), ((0, 1, 1), False), ((0, 0, 1), False)],
)
def test_a_sequential_suffix_that_skips_or_repeats_is_caught(suffixes: tuple[int, int, int], ok: bool) -> None:
    seq = _create("/p/s-", sequential=True)
    first, second, third = (f"/p/s-{s:010d}" for s in suffixes)
    history = History(
        calls=[
            PARENT,
            _made("b", 0, 2.0, [seq], [first], 2),  # type: ignore[list-item]
            # Two in one transaction, the second named by the counter the first moved.
            _made("c", 0, 4.0, [seq, seq], [second, third], 3),  # type: ignore[list-item]
        ]
    )
    found = properties(history)
    assert found == set() if ok else "linearizable" in found, check(history).violations


def test_a_suffix_must_count_the_creates_and_deletes_before_it_in_its_transaction() -> None:
    seq = _create("/p/s-", sequential=True)
    ops = [seq, _create("/p/x"), seq]
    right = _made("b", 0, 2.0, ops, ["/p/s-0000000000", "/p/x", "/p/s-0000000002"], 2)
    wrong = _made("b", 0, 2.0, ops, ["/p/s-0000000000", "/p/x", "/p/s-0000000001"], 2)
    # A later transaction pins the counter, so the first suffix is checked too.
    after = _made("c", 0, 4.0, [_delete("/p/x"), seq], [None, "/p/s-0000000004"], 3)
    assert properties(History(calls=[PARENT, right, after])) == set()  # type: ignore[list-item]
    assert properties(History(calls=[PARENT, wrong, after])) == {"linearizable"}  # type: ignore[list-item]


def test_a_sequential_create_fails_on_a_name_only_if_that_name_was_given() -> None:
    seq = _create("/p/s-", sequential=True)
    made = _made("b", 0, 2.0, [seq], ["/p/s-0000000000"], 2)
    exists = call("c", 0, "multi", "/p/s-", 4.0, 5.0, ok=False, error="NodeExists", ops=[seq], result={"failed": 0})
    assert properties(History(calls=[PARENT, made, exists])) == {"linearizable"}  # type: ignore[list-item]
    missing = call("c", 0, "multi", "/p/s-", 4.0, 5.0, ok=False, error="NoNode", ops=[seq], result={"failed": 0})
    assert properties(History(calls=[PARENT, made, missing])) == set()  # type: ignore[list-item]


def test_a_node_a_transaction_set_may_go_with_the_session_that_created_it_ephemeral() -> None:
    owned = call("e", 0, "create", "/p/a", 1.0, 1.5, data="", ephemeral=True, result={"path": "/p/a", "czxid": 1})
    both = call(
        "b",
        0,
        "multi",
        "/p/a",
        2.0,
        3.0,
        ops=[_set("/p/a", "01"), _create("/p/b")],
        result={"txn": 2, "versions": [1, None], "paths": [None, "/p/b"]},
    )
    gone = call("c", 0, "exists", "/p/a", 5.0, 5.5, result=None)
    history = History(calls=[PARENT, owned, both, gone], ends=[SessionEnd("e", "closed", 4.5, since=4.0)], final={})
    assert properties(history) == set()
    history.ends = []
    assert properties(history) == {"atomic"}


def test_a_read_after_one_that_showed_part_of_a_transaction_must_show_the_rest() -> None:
    """Before the transaction returned: session c saw its set of /a, so its next read of /b must
    show the set of /b too; session d saw nothing of it and may read /b before it."""
    both = call(
        "b", 0, "multi", "/a", 3.0, 9.0, ops=[_set("/a", "11"), _set("/b", "11")], result={"txn": 5, "versions": [1, 1]}
    )
    saw_a = call("c", 0, "get", "/a", 4.0, 4.5, result=node("11", 1, 5))
    whole = call("c", 1, "get", "/b", 5.0, 5.5, result=node("11", 1, 5, czxid=2))
    part = call("c", 1, "get", "/b", 5.0, 5.5, result=node("00", 0, 2, czxid=2))
    unaware = call("d", 0, "get", "/b", 5.0, 5.5, result=node("00", 0, 2, czxid=2))
    assert properties(History(calls=[*CREATED, both, saw_a, whole, unaware])) == set()
    report = check(History(calls=[*CREATED, both, saw_a, part]))
    assert {v.property for v in report.violations} == {"atomic"}
    assert "showed in c#0 get /a" in report.violations[0].message
