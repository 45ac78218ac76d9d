"""``fk cost``: the price conversion on hand-made counters, and a measurement on moto."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_aws.cost.pricing import UPSTREAM_READ, UPSTREAM_WRITE, Prices, Units, billable_units


def test_counters_become_billable_units() -> None:
    counts = {
        ("dynamodb", "GetItem"): 2,
        ("dynamodb", "UpdateItem"): 3,
        ("dynamodb", "TransactWriteItems"): 1,
        ("dynamodb", "TransactWriteItems.items"): 2,
        ("dynamodb", "BatchGetItem"): 1,
        ("dynamodb", "BatchGetItem.items"): 5,
        ("dynamodb", "DescribeTable"): 7,
        ("s3", "PutObject"): 1,
        ("s3", "GetObject"): 4,
        ("s3", "HeadObject"): 1,
        ("s3", "DeleteObject"): 9,
        ("sqs", "SendMessage"): 2,
        ("sqs", "DeleteMessageBatch"): 1,
        ("lambda", "Invoke"): 2,
        ("lambda", "Invoke.ms"): 3000,
        ("lambda:writer", "Invoke"): 1,
    }
    units = billable_units(counts, memory_mb=1024)
    assert units == Units(
        dynamodb_rru=2 + 5,
        dynamodb_wru=3 + 2 * 2,
        s3_put=1,
        s3_get=5,
        sqs_requests=3,
        lambda_requests=2,
        lambda_gb_seconds=3.0,
    )


def test_units_are_priced_from_the_table() -> None:
    prices = Prices()
    assert prices.dynamodb_write_per_million == 0.625
    assert prices.s3_get_per_thousand == 0.0004
    units = Units(dynamodb_rru=8, dynamodb_wru=4, s3_put=2, s3_get=10, sqs_requests=4, lambda_requests=5)
    expected = 8 * 0.125e-6 + 4 * 0.625e-6 + 2 * 0.005e-3 + 10 * 0.0004e-3 + 4 * 0.5e-6 + 5 * 0.2e-6
    assert units.cost(prices) == pytest.approx(expected, rel=1e-12)
    assert Units(lambda_gb_seconds=2).cost(prices) == pytest.approx(2 * 0.0000133334)
    assert Units(lambda_gb_seconds=2).cost(prices, duration=False) == 0
    # The upstream's write: 2 SQS + 3 WRU + 1 RRU + 1 PUT + 2 Lambda requests.
    assert UPSTREAM_WRITE.cost(prices) == pytest.approx(1e-6 + 1.875e-6 + 0.125e-6 + 5e-6 + 0.4e-6)
    assert UPSTREAM_READ.cost(prices) == pytest.approx(0.4e-6)


def test_prices_are_overridden_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"s3-get-per-thousand": 0.001, "source_date": "2020-01-01"}))
    prices = Prices.load(path)
    assert prices.s3_get_per_thousand == 0.001
    assert prices.source_date == "2020-01-01"
    assert prices.s3_put_per_thousand == Prices().s3_put_per_thousand
    assert UPSTREAM_READ.cost(prices) == pytest.approx(1e-6)
    path.write_text(json.dumps({"s3_gets": 1}))
    with pytest.raises(ConfigurationException, match="Unknown price"):
        Prices.load(path)
    path.write_text(json.dumps({"sqs_fifo_per_million": -1}))
    with pytest.raises(ConfigurationException, match="non-negative"):
        Prices.load(path)


def test_measured_costs_per_operation(
    stackless: Callable[..., Config], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from faaskeeper_aws.cost.measure import OPERATIONS, WRITES, measure_operations
    from faaskeeper_aws.cost.model import AwsCostModel
    from faaskeeper_deploy.cost.cli import cost_rows, render

    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    measurement = measure_operations(config, repetitions=2, functions="local")
    assert list(measurement.requests) == list(OPERATIONS)
    for name, counted in measurement.requests.items():
        assert counted, name
        assert all(n > 0 for n in counted.values()), (name, counted)
    for read in ("get_data", "exists", "get_children"):
        units = billable_units(measurement.requests[read])
        assert units == Units(s3_get=1), f"{read} is one S3 GET: {measurement.requests[read]}"
    assert measurement.requests["get_data"] == {("s3", "GetObject"): 1}
    for write in WRITES:
        counted = measurement.requests[write]
        assert counted[("lambda", "Invoke")] == 2, (write, counted)
        assert counted[("sqs", "SendMessage")] == 2, (write, counted)
    model = AwsCostModel(config, functions="local")
    rows = cost_rows(measurement.requests, Prices(), model)
    text = render(rows, model)
    print(text)
    assert [r["operation"] for r in rows] == [*OPERATIONS, "upstream write", "upstream read"]
    for line in ("create", "get_data", "upstream write", "upstream read", "$/100k"):
        assert line in text
    assert rows[OPERATIONS.index("get_data")]["usd_per_op"] == pytest.approx(UPSTREAM_READ.cost(Prices()))


def test_fk_cost_refuses_real_aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from faaskeeper_deploy.cli import main

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    path = tmp_path / "client.json"
    path.write_text(
        json.dumps({"cloud-provider": "aws", "deployment-name": "x", "deployment-region": "us-east-1", "aws": {}})
    )
    assert main(["cost", "--config", str(path)]) == 1
    assert "--allow-real-aws" in capsys.readouterr().err


def test_heartbeat_run_is_measured_per_session(stackless: Callable[..., Config]) -> None:
    from faaskeeper_aws.cost.measure_heartbeat import measure_heartbeat

    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    measured = measure_heartbeat(config, low=1, high=3, functions="local", settle=0)

    assert measured.sessions == (1, 3)
    # One invocation that lists the sessions; TCP pings cost no request.
    assert measured.fixed[("lambda", "Invoke")] == 1
    assert billable_units(measured.fixed).dynamodb_rru >= 1
    assert billable_units(measured.per_session).sqs_requests == 0
    assert billable_units(measured.per_session).lambda_requests == 0


def test_queue_channel_heartbeat_pays_per_session(stackless: Callable[..., Config]) -> None:
    from faaskeeper_aws.cost.measure_heartbeat import measure_heartbeat

    config = stackless(storage="persistent", channel="sqs", heartbeat=60, session_timeout=180)
    measured = measure_heartbeat(config, low=1, high=2, functions="local", settle=0)

    # Each ping is a message to the session's queue (and its answer).
    assert billable_units(measured.per_session).sqs_requests >= 1


def test_workload_report_prices_a_month_from_the_measurement(stackless: Callable[..., Config]) -> None:
    import argparse

    from faaskeeper_aws.cost.measure import measure_operations
    from faaskeeper_aws.cost.model import AwsCostModel
    from faaskeeper_deploy.cost.workload import workload_report

    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    measurement = measure_operations(config, repetitions=2, functions="local")
    args = argparse.Namespace(
        requests_per_day=1_000_000,
        read_share=0.9,
        size=100,
        clients=10,
        heartbeat_minutes=None,
        vm="t3.small",
        vms=3,
        disk_gb=8.0,
    )
    model = AwsCostModel(config, functions="local")
    text, document = workload_report(args, model, measurement.requests, Prices())

    monthly = document["monthly_usd"]
    read = billable_units(measurement.requests["get_data"]).cost(Prices(), duration=False)
    write = billable_units(measurement.requests["set_data"]).cost(Prices(), duration=False)
    days = 730 / 24
    assert monthly["reads"] == pytest.approx(900_000 * days * read)
    assert monthly["writes"] == pytest.approx(100_000 * days * write)
    assert monthly["ensemble"] == pytest.approx(3 * 0.0208 * 730 + 3 * 8 * 0.08)
    assert monthly["serverless"] == pytest.approx(
        monthly["reads"] + monthly["writes"] + monthly["heartbeats"] + monthly["idle_polling"]
    )
    assert monthly["heartbeats"] > 0
    assert document["workload"]["heartbeat_minutes"] == 1
    assert document["heartbeat_requests"]["fixed"]["lambda.Invoke"] == 1
    assert "Break-even" in text
    assert "3 x t3.small" in text


def test_one_client_under_load_bills_as_the_sequential_measurement(stackless: Callable[..., Config]) -> None:
    from faaskeeper_aws.cost.measure import measure_load, measure_operations

    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    sequential = measure_operations(config, repetitions=2, functions="local")
    # One call due every 0.25 s for 3 s: 12 calls, every other one a read.
    load = measure_load(config, clients=1, rate=4, seconds=3, read_share=0.5, functions="local")

    assert load.issued == {"set_data": 6, "get_data": 6}
    assert load.completed == load.issued, load.errors
    assert load.errors == []
    writer = next(sizes for function, sizes in load.batches.items() if function.endswith("writer"))
    # One session waits for each write's reply: the writer never finds two requests queued.
    assert writer == {1: 6}
    assert load.requests["get_data"] == sequential.requests["get_data"] == {("s3", "GetObject"): 1}
    under_load, one_at_a_time = (
        billable_units(load.requests["set_data"]),
        billable_units(sequential.requests["set_data"]),
    )
    if all(set(sizes) == {1} for sizes in load.batches.values()):
        # Without batches, a write under load makes the queue and function requests of one alone.
        for field in ("sqs_requests", "lambda_requests", "s3_put", "s3_get"):
            assert getattr(under_load, field) == getattr(one_at_a_time, field), (field, under_load, one_at_a_time)
    # A write takes a GetItem and an UpdateItem more or not, by timing, in either measurement.
    assert under_load.dynamodb_wru == pytest.approx(one_at_a_time.dynamodb_wru, abs=1)
    assert under_load.dynamodb_rru == pytest.approx(one_at_a_time.dynamodb_rru, abs=1)


def test_four_clients_under_load_hand_each_write_to_one_batch(stackless: Callable[..., Config]) -> None:
    from faaskeeper_aws.cost.measure import measure_load

    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    # Each of the 4 sessions has a call due every 0.25 s for 3 s: 12 calls each.
    load = measure_load(config, clients=4, rate=16, seconds=3, read_share=0.5, functions="local")

    assert sum(load.issued.values()) == 48
    assert load.completed == load.issued, load.errors
    writes = load.completed["set_data"]
    assert writes == 24
    assert {function.rsplit("-", 1)[-1] for function in load.batches} == {"writer", "distributor"}
    for function, sizes in load.batches.items():
        assert all(size >= 1 and n >= 1 for size, n in sizes.items()), (function, sizes)
        # Every write is one message to the writer and one to the distributor, each in one batch.
        assert sum(size * n for size, n in sizes.items()) == writes, (function, sizes)
    invocations = sum(sum(sizes.values()) for sizes in load.batches.values())
    assert load.requests["set_data"][("lambda", "Invoke")] == pytest.approx(invocations / writes)
    assert load.requests["set_data"][("sqs", "SendMessage")] == pytest.approx(2)
    assert load.requests["get_data"] == {("s3", "GetObject"): 1}


@pytest.fixture(scope="module")
def deployed(moto_server, tmp_path_factory: pytest.TempPathFactory):
    """A stack deployed to moto as a new user makes one; its client config file. Removed afterwards."""
    import uuid

    from faaskeeper.plugins.manager import get_provider

    provider = get_provider("aws")
    data = {
        "cloud-provider": "aws",
        "deployment-name": f"c{uuid.uuid4().hex[:10]}",
        "deployment-region": "us-east-1",
        "user-storage": "persistent",
        "client-channel": "tcp",
        "worker-queue": "sqs",
        "distributor-queue": "sqs",
        "heartbeat-frequency": 60,
        "aws": {},
    }
    config = provider.deploy(Config.deserialize(data), clean=True)
    path = tmp_path_factory.mktemp("deployed") / "aws.json"
    path.write_text(json.dumps(config.serialize()))
    yield path
    provider.remove(config)


def test_fk_cost_answers_a_month_of_a_million_requests_a_day(deployed: Path, tmp_path: Path, capsys) -> None:
    from faaskeeper_deploy.cli import main

    out = tmp_path / "cost.json"
    code = main(
        [
            *("cost", "--config", str(deployed), "--repetitions", "2"),
            *("--requests-per-day", "1000000", "--read-share", "90%", "--vm", "t3.small", "--json", str(out)),
        ]
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "1,000,000 requests a day, 90% reads" in printed
    assert "3 x t3.small" in printed
    assert "Break-even:" in printed
    document = json.loads(out.read_text())
    monthly = document["monthly"]["monthly_usd"]
    rows = {row["operation"]: row for row in document["operations"]}
    days = 730 / 24
    assert monthly["reads"] == pytest.approx(900_000 * days * rows["get_data"]["usd_per_op"])
    assert monthly["writes"] == pytest.approx(100_000 * days * rows["set_data"]["usd_per_op"])
    assert monthly["ensemble"] == pytest.approx(3 * 0.0208 * 730 + 3 * 8 * 0.08)
    assert document["monthly"]["heartbeat_requests"]["fixed"]["lambda.Invoke"] == 1


def test_fk_bench_runs_the_functions_of_an_emulated_deployment(deployed: Path) -> None:
    from faaskeeper_deploy.bench import OPERATIONS, run_bench

    result = run_bench(Config.from_file(str(deployed)), repetitions=2, warmup=0)

    fk = result.faaskeeper
    assert fk.description["provider"] == "aws"
    assert "Lambda emulator" in fk.description["functions"]
    assert set(fk.operations) == set(OPERATIONS)
    assert all(len(fk.samples_ns[op]) == 2 for op in OPERATIONS)


def test_fk_cost_under_load_prices_each_call_from_the_run(deployed: Path, tmp_path: Path, capsys) -> None:
    from faaskeeper_deploy.cli import main

    out = tmp_path / "load.json"
    code = main(
        [
            *("cost", "--config", str(deployed), "--clients", "2", "--rate", "8", "--seconds", "2"),
            *("--read-share", "50%", "--requests-per-day", "1000000", "--json", str(out)),
        ]
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "2 concurrent clients at 8 calls/s for 2 s" in printed
    assert "Messages per invocation" in printed
    document = json.loads(out.read_text())
    assert document["repetitions"] is None
    load = document["load"]
    assert {k: load[k] for k in ("clients", "rate", "seconds", "read_share", "size")} == {
        "clients": 2,
        "rate": 8,
        "seconds": 2,
        "read_share": 0.5,
        "size": 100,
    }
    assert load["operations"] == {"set_data": {"issued": 8, "completed": 8}, "get_data": {"issued": 8, "completed": 8}}
    assert load["errors"] == []
    assert load["achieved_rate"] > 0
    assert load["elapsed"] > 0
    assert len(load["batches"]) == 2
    for batches in load["batches"].values():
        assert batches["messages"] == 8
        assert 1 <= batches["mean"] <= batches["max"]
        assert sum(int(size) * n for size, n in batches["sizes"].items()) == 8
    rows = {row["operation"]: row for row in document["operations"]}
    assert [name for name in rows if not name.startswith("upstream")] == ["set_data", "get_data"]
    for name in ("set_data", "get_data"):
        counted = {tuple(key.split(".", 1)): n for key, n in rows[name]["requests"].items()}
        assert rows[name]["usd_per_op"] == pytest.approx(billable_units(counted).cost(Prices(), duration=False))
    days = 730 / 24
    assert document["monthly"]["monthly_usd"]["writes"] == pytest.approx(
        500_000 * days * rows["set_data"]["usd_per_op"]
    )
