"""``fk cost``'s monthly model, checked against figures computed by hand from the default price table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("faaskeeper_aws")

from faaskeeper.exceptions import ConfigurationException
from faaskeeper_aws.cost.pricing import UPSTREAM_WRITE, Prices, Units, idle_polling_requests
from faaskeeper_deploy import cli
from faaskeeper_deploy.cost.model import (
    DAYS_PER_MONTH,
    Ensemble,
    Measured,
    Workload,
    monthly_cost,
    render_monthly,
    scaled,
    total,
)

#: One set_data as ``fk cost`` measured it on moto (S3 storage, TCP channel).
WRITE = Units(dynamodb_rru=3.4, dynamodb_wru=6, s3_put=1, sqs_requests=6, lambda_requests=2)
READ = Units(s3_get=1)
#: One heartbeat run: a Scan of the sessions and the invocation; TCP pings are free.
MEASURED = Measured(
    read=READ, write=WRITE, heartbeat_fixed=Units(dynamodb_rru=1, lambda_requests=1), heartbeat_per_session=Units()
)


def test_a_write_and_a_read_by_hand() -> None:
    prices = Prices()
    # 3.4 * 0.125e-6 + 6 * 0.625e-6 + 1 * 0.005e-3 + 6 * 0.5e-6 + 2 * 0.2e-6
    assert WRITE.cost(prices) == pytest.approx(12.575e-6, rel=1e-12)
    assert READ.cost(prices) == pytest.approx(0.4e-6, rel=1e-12)
    # The upstream's write at today's prices is $0.84 per 100k; at the DynamoDB prices before the
    # 2024-11 halving ($1.25 / $0.25 per million units) it is the $1.04 the upstream's evaluation
    # rounds up to "about $1.1" with Lambda duration.
    assert 1e5 * UPSTREAM_WRITE.cost(prices) == pytest.approx(0.84)
    before = Prices.from_dict({"dynamodb_write_per_million": 1.25, "dynamodb_read_per_million": 0.25})
    assert 1e5 * UPSTREAM_WRITE.cost(before) == pytest.approx(1.04)


def test_one_million_requests_a_day_against_three_t3_small() -> None:
    workload = Workload(requests_per_day=1_000_000, read_share=0.9, clients=10, heartbeat_minutes=1)
    cost = monthly_cost(workload, MEASURED, Ensemble("t3.small", vms=3, disk_gb=8), Prices())

    assert pytest.approx(30.416667, rel=1e-6) == DAYS_PER_MONTH
    # 900,000 reads a day * 30.4167 days * $0.4e-6
    assert cost.reads == pytest.approx(10.95, rel=1e-9)
    # 100,000 writes a day * 30.4167 days * $12.575e-6
    assert cost.writes == pytest.approx(38.24896, rel=1e-6)
    # 43,800 runs a month (one a minute for 730 h) * ($0.125e-6 + $0.2e-6)
    assert cost.heartbeats == pytest.approx(0.014235, rel=1e-6)
    # 2 queues * 5 pollers * 2,628,000 s / 20 s = 1,314,000 requests * $0.5e-6
    assert idle_polling_requests(workload.clients, workload.queue_channel) == pytest.approx(1_314_000)
    assert cost.idle_polling == pytest.approx(0.657, rel=1e-9)
    assert cost.serverless == pytest.approx(10.95 + 38.24896 + 0.014235 + 0.657, rel=1e-6)
    # 3 * $0.0208/h * 730 h, and 3 * 8 GB * $0.08
    assert cost.vms == pytest.approx(45.552, rel=1e-9)
    assert cost.disks == pytest.approx(1.92, rel=1e-9)
    assert cost.ensemble == pytest.approx(47.472, rel=1e-9)
    # 0.9 * $0.4e-6 + 0.1 * $12.575e-6
    assert cost.per_request == pytest.approx(1.6175e-6, rel=1e-9)
    # ($47.472 - $0.014235 - $0.657) / ($1.6175e-6 * 30.4167 days)
    assert cost.break_even_per_day == pytest.approx(951_255, rel=1e-5)
    assert cost.ratio == pytest.approx(47.472 / cost.serverless)

    text = render_monthly(workload, Ensemble("t3.small"), cost, Prices())
    assert "1,000,000 requests a day, 90% reads" in text
    assert "3 x t3.small ($0.0208/h)" in text
    assert "Break-even: 951,25" in text
    assert "check them" in text


def test_infrequent_workloads_are_far_cheaper_and_busy_ones_dearer() -> None:
    ensemble, prices = Ensemble("t3.small"), Prices()
    quiet = monthly_cost(Workload(requests_per_day=10_000, read_share=0.9), MEASURED, ensemble, prices)
    busy = monthly_cost(Workload(requests_per_day=10_000_000, read_share=0.9), MEASURED, ensemble, prices)

    assert quiet.ratio > 40
    assert busy.ratio < 1
    assert quiet.break_even_per_day == pytest.approx(busy.break_even_per_day)


def test_queue_channel_clients_poll_and_sessions_are_pinged() -> None:
    per_session = Units(sqs_requests=2)
    measured = Measured(read=READ, write=WRITE, heartbeat_fixed=Units(), heartbeat_per_session=per_session)
    workload = Workload(requests_per_day=0, clients=4, heartbeat_minutes=2, queue_channel=True)
    cost = monthly_cost(workload, measured, Ensemble("t3.small"), Prices())

    # (10 function pollers + 4 clients) * 2,628,000 s / 20 s
    assert idle_polling_requests(workload.clients, workload.queue_channel) == pytest.approx(14 * 131_400)
    # 21,900 runs * 4 sessions * 2 requests * $0.5e-6
    assert cost.heartbeats == pytest.approx(0.0876, rel=1e-9)
    assert cost.reads == cost.writes == 0


def test_no_break_even_when_the_fixed_part_alone_costs_more() -> None:
    prices = Prices.from_dict({"vm_hourly": {"tiny": 0.0}, "ebs_gp3_per_gb_month": 0})
    cost = monthly_cost(Workload(requests_per_day=1000), MEASURED, Ensemble("tiny"), prices)

    assert cost.break_even_per_day is None
    assert "none" in render_monthly(Workload(requests_per_day=1000), Ensemble("tiny"), cost, prices)


def test_units_arithmetic() -> None:
    assert scaled(Units(s3_get=2, sqs_requests=1), 3) == Units(s3_get=6, sqs_requests=3)
    assert total([Units(s3_get=1), Units(s3_get=2, lambda_requests=1)]) == Units(s3_get=3, lambda_requests=1)


def test_bad_workloads_and_ensembles_are_refused() -> None:
    for kwargs, message in (
        ({"requests_per_day": -1}, "requests per day"),
        ({"requests_per_day": 1, "read_share": 1.5}, "read share"),
        ({"requests_per_day": 1, "heartbeat_minutes": 0}, "heartbeat"),
    ):
        with pytest.raises(ConfigurationException, match=message):
            Workload(**kwargs)
    with pytest.raises(ConfigurationException, match=r"No price for instance type 'z9\.huge'.*t3\.small"):
        Ensemble("z9.huge").monthly(Prices())
    with pytest.raises(ConfigurationException, match="at least 1 VM"):
        Ensemble("t3.small", vms=0).monthly(Prices())


def test_vm_prices_are_overridden_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"vm_hourly": {"t3.small": 0.03, "z9.huge": 9}, "ebs_gp3_per_gb_month": 0.1}))
    prices = Prices.load(path)

    assert prices.vm_per_hour("t3.small") == 0.03
    assert prices.vm_per_hour("z9.huge") == 9
    assert prices.vm_per_hour("t3.medium") == Prices().vm_per_hour("t3.medium")
    assert Ensemble("t3.small", vms=3, disk_gb=10).monthly(prices) == pytest.approx((3 * 0.03 * 730, 3.0))
    path.write_text(json.dumps({"vm_hourly": {"t3.small": "cheap"}}))
    with pytest.raises(ConfigurationException, match=r"'t3\.small' must be a non-negative number"):
        Prices.load(path)
    path.write_text(json.dumps({"vm_hourly": [1]}))
    with pytest.raises(ConfigurationException, match="instance type to USD per hour"):
        Prices.load(path)


@pytest.mark.parametrize(
    ("argument", "message"),
    [("--read-share=120%", "from 0 to 1"), ("--requests-per-day=-5", "at least 0"), ("--vms=0", "at least 1")],
)
def test_fk_cost_rejects_bad_workload_arguments(
    argument: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["cost", "--config", "x.json", argument])
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--rate=-5"], "argument --rate: must be above 0"),
        (["--rate=0"], "argument --rate: must be above 0"),
        (["--rate=5", "--seconds=0"], "argument --seconds: must be above 0"),
        (["--rate=5", "--clients=-1"], "argument --clients: must be at least 0"),
    ],
)
def test_fk_cost_rejects_bad_load_arguments(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["cost", "--config", "x.json", *arguments])
    assert message in capsys.readouterr().err


def test_fk_cost_refuses_a_load_of_no_clients_before_reading_the_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cost", "--config", "missing.json", "--clients", "0", "--rate", "5"]) == 1
    err = capsys.readouterr().err
    assert "--clients must be at least 1 with --rate, got 0" in err
    assert "missing.json" not in err


def test_fk_cost_refuses_to_price_a_month_of_a_load_without_writes(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["cost", "--config", "missing.json", "--rate", "5", "--read-share", "100%", "--requests-per-day", "1000"]
    )
    assert code == 1
    assert "--read-share must be above 0 and below 1" in capsys.readouterr().err


def test_a_sessions_calls_are_reads_at_the_read_share() -> None:
    from faaskeeper.measure import is_read

    assert [is_read(i, 0.9) for i in range(10)] == [False] + [True] * 9
    assert sum(is_read(i, 0.9) for i in range(1000)) == 900
    assert sum(is_read(i, 0.5) for i in range(7, 107)) == 50
    assert not any(is_read(i, 0.0) for i in range(50))
    assert all(is_read(i, 1.0) for i in range(50))
