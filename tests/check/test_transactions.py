"""The checker on histories with transactions: a multi takes effect on all its nodes at one
instant, or on none; its failure must fit the state the operations before the failing one leave."""

from __future__ import annotations

from pathlib import Path

import pytest

from faaskeeper.check.checker import check
from faaskeeper.check.history import History
from faaskeeper.check.soak import SoakOptions, local_config, run_round
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
    history.calls[3].result = None
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
        if multi.known and not multi.ok and multi.error in ("NoNode", "BadVersion"):
            assert isinstance(multi.result, dict), "a refused transaction records the operation that failed"
            assert 0 <= multi.result["failed"] < len(multi.ops or [])
    report = check(history)
    assert report.violations == [], report.violations[:3]
