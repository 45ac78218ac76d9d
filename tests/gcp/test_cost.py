"""``fk cost`` and ``fk bench`` on GCP: the price table on hand-made counters, and measurements on
the emulators with the functions served in the measuring process."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_deploy.cost.model import Ensemble, Measured, Workload, monthly_cost
from faaskeeper_gcp.cost.model import GcpCostModel
from faaskeeper_gcp.cost.pricing import Prices, Units, billable_units
from faaskeeper_gcp.deploy.cloud_options import DeployOptions

from .fixtures import gcp_config

TIB = 1024**4


def test_counters_become_billable_units() -> None:
    counts = {
        ("firestore", "reads"): 9,
        ("firestore", "writes"): 8,
        ("firestore", "deletes"): 2,
        ("firestore", "requests"): 15,
        ("pubsub", "messages"): 2,
        ("pubsub", "bytes"): 2000,
        ("pubsub", "deliveries"): 2,
        ("pubsub", "delivered bytes"): 2500,
        ("functions", "invocations"): 2,
        ("functions", "ms"): 300,
        ("functions:writer", "invocations"): 1,
        ("functions:writer", "ms"): 100,
    }
    units = billable_units(counts, memory_mb=1024, vcpus=0.5)
    assert units == Units(
        firestore_reads=9,
        firestore_writes=8,
        firestore_deletes=2,
        pubsub_bytes=4500,
        function_requests=2,
        function_gib_seconds=0.3,
        function_vcpu_seconds=0.15,
    )


def test_units_are_priced_from_the_table() -> None:
    prices = Prices()
    units = Units(firestore_reads=9, firestore_writes=8, firestore_deletes=2, pubsub_bytes=4000, function_requests=2)
    expected = (9 * 0.03 + 8 * 0.09 + 2 * 0.01) / 1e5 + 4000 * 40 / TIB + 2 * 0.4e-6
    assert units.cost(prices) == pytest.approx(expected, rel=1e-12)
    duration = Units(function_gib_seconds=2, function_vcpu_seconds=1)
    assert duration.cost(prices) == pytest.approx(2 * 0.0000025 + 0.000024)
    assert duration.cost(prices, duration=False) == 0
    assert prices.idle_units(10, False).cost(prices) == pytest.approx(0.10)
    assert prices.vm_per_hour("e2-small") == 0.016751


def test_prices_are_overridden_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"firestore-write-per-100k": 0.18, "vm_hourly": {"e2-small": 0.02}}))
    prices = Prices.load(path)
    assert prices.firestore_write_per_100k == 0.18
    assert prices.vm_per_hour("e2-small") == 0.02
    assert prices.vm_per_hour("e2-medium") == Prices().vm_per_hour("e2-medium")
    path.write_text(json.dumps({"firestore_writes": 1}))
    with pytest.raises(ConfigurationException, match="Unknown price"):
        Prices.load(path)
    with pytest.raises(ConfigurationException, match=r"No price for instance type 't3\.small'.*e2-small"):
        Ensemble("t3.small").monthly(Prices())


def test_a_month_against_three_e2_small_by_hand() -> None:
    write = Units(firestore_reads=9, firestore_writes=8, firestore_deletes=2, pubsub_bytes=4000, function_requests=2)
    read = Units(firestore_reads=1)
    measured = Measured(
        read=read,
        write=write,
        heartbeat_fixed=Units(firestore_reads=2, pubsub_bytes=2000, function_requests=1),
        heartbeat_per_session=Units(firestore_reads=1),
    )
    workload = Workload(requests_per_day=1_000_000, read_share=0.9, clients=10, heartbeat_minutes=1)
    cost = monthly_cost(workload, measured, Ensemble("e2-small", vms=3, disk_gb=10), Prices())

    days = 730 / 24
    assert cost.reads == pytest.approx(900_000 * days * 0.03 / 1e5)
    assert cost.writes == pytest.approx(100_000 * days * write.cost(Prices()))
    # 43,800 runs a month, each 12 reads (2 + 10 sessions), 2000 B of Pub/Sub and an invocation
    assert cost.heartbeats == pytest.approx(43_800 * (12 * 0.03e-5 + 2000 * 40 / TIB + 0.4e-6))
    assert cost.idle_polling == pytest.approx(0.10)  # the scheduler job
    assert cost.vms == pytest.approx(3 * 0.016751 * 730)
    assert cost.disks == pytest.approx(3 * 10 * 0.10)


def test_function_sizes_come_from_the_config() -> None:
    sized: dict[str, Any] = {"function-memory": 1024}
    config = gcp_config(**sized)
    options = DeployOptions.from_config(config)
    assert (options.memory, options.vcpus, options.heartbeat_minutes) == (1024, 0.583, 1)
    assert GcpCostModel(config).settings() == {"memory_mb": 1024, "vcpus": 0.583}
    unsized: dict[str, Any] = {"function-memory": "1Gi"}
    with pytest.raises(ConfigurationException, match=r"gcp\.function-memory"):
        DeployOptions.from_config(gcp_config(**unsized))


def test_fk_cost_refuses_a_real_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from faaskeeper_deploy.cli import main

    for variable in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"):
        monkeypatch.delenv(variable, raising=False)
    path = tmp_path / "gcp.json"
    raw = gcp_config().serialize()
    raw["gcp"] = {"project": "p"}
    path.write_text(json.dumps(raw))
    assert main(["cost", "--config", str(path)]) == 1
    assert "--allow-real-cloud" in capsys.readouterr().err


def test_operations_are_measured_with_the_functions_served_here(deployed: Callable[..., Config]) -> None:
    from faaskeeper.api.cost import OPERATIONS, WRITES

    model = GcpCostModel(deployed(heartbeat=60, session_timeout=180))
    assert model.emulated()
    measurement = model.measure_operations(repetitions=2, size=100)

    assert list(measurement.requests) == list(OPERATIONS)
    for read in ("get_data", "exists", "get_children"):
        assert model.units(measurement.requests[read]) == Units(firestore_reads=1), measurement.requests[read]
    for write in WRITES:
        counted = measurement.requests[write]
        # The request and the distributor's doorbell, each published once and pushed once.
        assert counted[("functions", "invocations")] == 2, (write, counted)
        assert counted[("pubsub", "messages")] == 2, (write, counted)
        assert counted[("pubsub", "deliveries")] == 2, (write, counted)
        assert counted[("firestore", "writes")] >= 4, (write, counted)
        assert not any(":" in service for service, _ in counted), "per-function counters repeat the totals"
    assert measurement.requests["delete"][("firestore", "deletes")] >= 1


@pytest.mark.parametrize("clients", [1, 4])
def test_operations_under_load_are_counted_per_call(deployed: Callable[..., Config], clients: int) -> None:
    model = GcpCostModel(deployed(heartbeat=60, session_timeout=180))
    # Each session has a call due every 0.5 s for 3 s: 6 calls each, every other one a read.
    load = model.measure_load(clients=clients, rate=2 * clients, seconds=3, read_share=0.5, size=100)

    assert load.issued == {"set_data": 3 * clients, "get_data": 3 * clients}
    assert load.completed == load.issued, load.errors
    writes = load.completed["set_data"]
    assert set(load.batches) == {"writer", "distributor"}
    for function, sizes in load.batches.items():
        # Pub/Sub pushes one message to each invocation: the request and the distributor's doorbell.
        assert sizes == {1: writes}, (function, sizes)
    counted = load.requests["set_data"]
    assert counted[("functions", "invocations")] == pytest.approx(2)
    assert counted[("pubsub", "messages")] == pytest.approx(2)
    assert counted[("pubsub", "deliveries")] == pytest.approx(2)
    assert model.units(load.requests["get_data"]) == Units(firestore_reads=1), load.requests["get_data"]


def test_fk_cost_answers_a_month_of_a_million_requests_a_day(
    deployed: Callable[..., Config], tmp_path: Path, capsys
) -> None:
    from faaskeeper_deploy.cli import main

    config_file = tmp_path / "gcp.json"
    config_file.write_text(json.dumps(deployed(heartbeat=60, session_timeout=180).serialize()))
    out = tmp_path / "cost.json"
    code = main(
        [
            *("cost", "--config", str(config_file), "--repetitions", "2"),
            *("--requests-per-day", "1000000", "--read-share", "90%", "--json", str(out)),
        ]
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "FaaSKeeper on GCP" in printed
    assert "3 x e2-small ($0.016751/h)" in printed
    assert "3 x 10 GB pd-balanced" in printed
    assert "Break-even:" in printed
    document = json.loads(out.read_text())
    rows = {row["operation"]: row for row in document["operations"]}
    assert rows["get_data"]["usd_per_100k"] == pytest.approx(0.03)  # one document read
    monthly = document["monthly"]["monthly_usd"]
    days = 730 / 24
    assert monthly["reads"] == pytest.approx(900_000 * days * rows["get_data"]["usd_per_op"])
    assert monthly["writes"] == pytest.approx(100_000 * days * rows["set_data"]["usd_per_op"])
    assert monthly["ensemble"] == pytest.approx(3 * 0.016751 * 730 + 3 * 10 * 0.10)
    heartbeat = document["monthly"]["heartbeat_requests"]
    assert heartbeat["fixed"]["functions.invocations"] == 1
    assert heartbeat["fixed"]["pubsub.messages"] == 1  # the scheduler's tick
    assert monthly["heartbeats"] > 0


def test_fk_bench_serves_the_functions_of_an_emulated_deployment(deployed: Callable[..., Config]) -> None:
    from faaskeeper_deploy.bench import OPERATIONS, run_bench

    config = deployed()
    result = run_bench(config, repetitions=2, warmup=0)

    fk = result.faaskeeper
    assert fk.description["provider"] == "gcp"
    # The deployment's configuration is recorded beside the figures.
    recorded = fk.description["config"]
    assert recorded["gcp"] == config.provider_section
    assert recorded["worker-queue"] == config.serialize().get("worker-queue")
    assert recorded["client-channel"] == config.client_channel.value
    assert "functions-framework" in fk.description["functions"]
    assert set(fk.operations) == set(OPERATIONS)
    assert all(len(fk.samples_ns[op]) == 2 for op in OPERATIONS)
