"""``fk cost`` and ``fk bench`` on Azure: the metering of every SDK request on the emulators, the
price table on hand-made counters, and measurements with the functions served by the function host."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.metering import Key, Meter, difference
from faaskeeper_azure.cost.metering import (
    METER,
    QUERY_RU,
    WRITE_RU_PER_KB,
    billed_ms,
    count_execution,
    estimated_charge,
    storage_operation,
)
from faaskeeper_azure.cost.model import AzureCostModel
from faaskeeper_azure.cost.pricing import Prices, Units, billable_units
from faaskeeper_azure.deploy import cloud
from faaskeeper_azure.deploy.cloud_options import CloudOptions
from faaskeeper_azure.deploy.template import build_template
from faaskeeper_azure.emulator.servers import Emulators, free_port
from faaskeeper_azure.settings import AzureSettings
from faaskeeper_deploy.cost.model import Ensemble, Measured, Workload, monthly_cost


def azure_config(emulators: Emulators | None = None, **top: Any) -> Config:
    section = emulators.config_section() if emulators is not None else {}
    return Config.deserialize(
        {
            "cloud-provider": "azure",
            "deployment-name": f"c{uuid.uuid4().hex[:8]}",
            **top,
            "azure": {**section, "functions-endpoint": f"http://127.0.0.1:{free_port()}"},
        }
    )


@pytest.fixture
def deployed(azure_emulators: Emulators) -> Iterator[Callable[..., Config]]:
    """``deployed(**top_level_keys)``: a fresh deployment on the emulators (removed after the test)."""
    from faaskeeper.plugins.manager import get_provider

    provider = get_provider("azure")
    made: list[Config] = []

    def deploy(**top: Any) -> Config:
        config = provider.deploy(azure_config(azure_emulators, **top), clean=True)
        made.append(config)
        return config

    yield deploy
    for config in made:
        provider.remove(config)


# -- metering ---------------------------------------------------------------------------------


def test_storage_requests_are_named_as_azure_bills_them() -> None:
    azurite = "http://127.0.0.1:10000/devstoreaccount1"
    cloud = "https://acct.blob.core.windows.net"
    assert storage_operation("blob", "PUT", f"{azurite}/fk-x-nodes/nodes/a", {}) == "PutBlob"
    assert storage_operation("blob", "PUT", f"{cloud}/fk-x-nodes/nodes/a", {}) == "PutBlob"
    assert storage_operation("blob", "PUT", f"{cloud}/c/b", {"x-ms-copy-source": "u"}) == "CopyBlob"
    assert storage_operation("blob", "PUT", f"{cloud}/c/b?comp=block&blockid=x", {}) == "PutBlock"
    assert storage_operation("blob", "GET", f"{cloud}/c/nodes/a/b", {}) == "GetBlob"
    assert storage_operation("blob", "HEAD", f"{cloud}/c/b", {}) == "GetBlobProperties"
    assert storage_operation("blob", "DELETE", f"{cloud}/c/b", {}) == "DeleteBlob"
    assert storage_operation("blob", "PUT", f"{cloud}/c?restype=container", {}) == "CreateContainer"
    assert storage_operation("blob", "GET", f"{cloud}/c?restype=container&comp=list", {}) == "ListBlobs"
    queue = "http://127.0.0.1:10001/devstoreaccount1/fk-x-writer"
    assert storage_operation("queue", "POST", f"{queue}/messages", {}) == "PutMessage"
    assert storage_operation("queue", "GET", f"{queue}/messages?numofmessages=1", {}) == "GetMessages"
    assert storage_operation("queue", "GET", f"{queue}/messages?peekonly=true", {}) == "PeekMessages"
    assert storage_operation("queue", "DELETE", f"{queue}/messages/id1?popreceipt=r", {}) == "DeleteMessage"
    assert storage_operation("queue", "PUT", f"{queue}/messages/id1?popreceipt=r", {}) == "UpdateMessage"
    assert storage_operation("queue", "GET", f"{queue}?comp=metadata", {}) == "GetQueueMetadata"
    assert storage_operation("queue", "PUT", queue, {}) == "CreateQueue"


def test_request_units_are_estimated_from_the_documented_costs() -> None:
    item = json.dumps({"id": "a", "pk": "p", "data": "x" * 1500}).encode()  # 2 KB
    assert estimated_charge("ReadItem", 200, b"", item) == 2
    assert estimated_charge("ReadItem", 404, b"", b"") == 1
    assert estimated_charge("CreateItem", 201, item, item) == 2 * WRITE_RU_PER_KB
    assert estimated_charge("ReplaceItem", 412, item, b"") == 1  # refused by its ETag
    assert estimated_charge("Query", 200, b"", b"{}") == QUERY_RU
    batch = json.dumps(
        [
            {"operationType": "Replace", "resourceBody": {"id": "a"}},
            {"operationType": "Create", "resourceBody": {"id": "b", "data": "x" * 1500}},
            {"operationType": "Read"},
        ]
    ).encode()
    assert estimated_charge("Batch", 200, batch, b"") == WRITE_RU_PER_KB * 3 + 1
    assert estimated_charge("Batch", 409, batch, b"") == 3
    assert estimated_charge("ReadItem", 429, b"", item) == 0  # throttled: not billed
    assert estimated_charge("metadata", 200, b"", item) == 0


def test_every_sdk_request_of_the_provider_is_counted_on_the_emulators(azure_emulators: Emulators) -> None:
    from faaskeeper_azure.queues import StorageQueues
    from faaskeeper_azure.settings import AzureSettings
    from faaskeeper_azure.storage.cosmos import create_containers, delete_database

    settings = AzureSettings.from_config(azure_config(azure_emulators))
    create_containers(settings)
    try:
        items = settings.database_client().get_container_client(settings.names.system_container)
        before = METER.snapshot()
        items.create_item({"id": "a", "pk": "p", "v": 1})
        items.read_item("a", partition_key="p")
        items.execute_item_batch([("upsert", ({"id": "b", "pk": "p"},)), ("delete", ("a",))], partition_key="p")
        counted = difference(METER.snapshot(), before)
        assert counted[("cosmos", "CreateItem")] == 1
        assert counted[("cosmos", "ReadItem")] == 1
        assert (counted[("cosmos", "Batch")], counted[("cosmos", "Batch.items")]) == (1, 2)
        # The emulator's charge (1 a request) is replaced by the estimate: 5.5 + 1 + 2 x 5.5 RU.
        assert counted[("cosmos", "milli-RU")] == round((3 * WRITE_RU_PER_KB + 1) * 1000)

        service = settings.blob_service()
        container = service.get_container_client(settings.names.blob_container)
        before = METER.snapshot()
        container.create_container()
        container.upload_blob("nodes/a", b"x")
        container.download_blob("nodes/a").readall()
        container.delete_container()
        counted = difference(METER.snapshot(), before)
        assert {op for (service_name, op) in counted if service_name == "blob"} == {
            "CreateContainer",
            "PutBlob",
            "GetBlob",
            "DeleteContainer",
        }

        host_meter = Meter()
        queues = StorageQueues(str(settings.storage_connection_string), meter=host_meter)
        name = f"fk-{uuid.uuid4().hex[:8]}"
        client = queues.client(name)
        client.create_queue()
        queues.send(name, "hello")
        (message,) = client.receive_messages(max_messages=1)
        client.delete_message(message)
        assert list(client.receive_messages(max_messages=1)) == []
        client.delete_queue()
        queues.close()
        assert host_meter.snapshot() == {
            ("queue", "CreateQueue"): 1,
            ("queue", "PutMessage"): 1,
            ("queue", "GetMessages"): 1,
            ("queue", "DeleteMessage"): 1,
            ("queue", "GetMessages.empty"): 1,
            ("queue", "DeleteQueue"): 1,
        }
    finally:
        delete_database(settings)
        settings.close()


def test_executions_are_billed_as_flex_consumption_bills_them() -> None:
    # At least 1,000 ms, then rounded up to the next 100 ms.
    assert billed_ms(0.0123) == 1000
    assert billed_ms(0.999) == 1000
    assert billed_ms(1.0) == 1000
    assert billed_ms(1.0001) == 1100
    assert billed_ms(1.1) == 1100  # 1.1 * 1000 is 1100.0000000000002 in floating point
    assert billed_ms(2.2501) == 2300
    meter = Meter()
    count_execution("writer", 0.0123, meter)
    count_execution("writer", 1.2501, meter)
    assert meter.snapshot() == {
        ("functions", "executions"): 2,
        ("functions", "ms"): 1000 + 1300,
        ("functions:writer", "executions"): 2,
        ("functions:writer", "ms"): 2300,
    }


# -- pricing ----------------------------------------------------------------------------------


def test_counters_become_billable_units() -> None:
    counts: dict[Key, float] = {
        ("cosmos", "milli-RU"): 12_500,
        ("cosmos", "ReadItem"): 3,
        ("blob", "PutBlob"): 2,
        ("blob", "CreateContainer"): 1,
        ("blob", "GetBlob"): 4,
        ("blob", "GetBlobProperties"): 1,
        ("blob", "DeleteBlob"): 5,
        ("queue", "PutMessage"): 2,
        ("queue", "GetMessages"): 2,
        ("queue", "DeleteMessage"): 2,
        ("queue", "GetMessages.empty"): 7,
        ("queue", "GetQueueMetadata"): 1,
        ("functions", "executions"): 2,
        ("functions", "ms"): 2300,
        ("functions:writer", "executions"): 1,
        ("functions:writer", "ms"): 1000,
    }
    units = billable_units(counts, instance_memory_mb=2048)
    assert units == Units(
        cosmos_ru=12.5,
        blob_write=3,
        blob_read=4,
        blob_other=1,
        queue_class1=6,
        queue_class2=8,
        function_executions=2,
        function_gb_seconds=2.3 * 2,  # 2.3 billed seconds on 2 GB instances
    )


def test_execution_time_is_billed_on_the_instance_memory() -> None:
    one_execution: dict[Key, float] = {("functions", "executions"): 1, ("functions", "ms"): billed_ms(0.02)}
    small = billable_units(one_execution, instance_memory_mb=512)
    default = billable_units(one_execution, instance_memory_mb=2048)
    large = billable_units(one_execution, instance_memory_mb=4096)
    # The 1,000 ms minimum on 0.5, 2 and 4 GB, whatever memory the code used.
    assert (small.function_gb_seconds, default.function_gb_seconds, large.function_gb_seconds) == (0.5, 2.0, 4.0)
    assert default.function_gb_seconds == 4 * small.function_gb_seconds
    prices = Prices()
    duration = default.cost(prices) - default.cost(prices, duration=False)
    assert duration == pytest.approx(4 * (small.cost(prices) - small.cost(prices, duration=False)), rel=1e-12)
    assert duration == pytest.approx(2.0 * 0.000026, rel=1e-12)
    # The execution itself costs the same on any instance size.
    assert default.cost(prices, duration=False) == small.cost(prices, duration=False) == pytest.approx(0.40e-6)


def test_units_are_priced_from_the_table() -> None:
    prices = Prices()
    units = Units(cosmos_ru=20, blob_write=1, blob_read=2, queue_class1=6, function_executions=2)
    # Flex Consumption: $0.40 per million executions.
    expected = 20 * 0.25e-6 + (1 * 0.05 + 2 * 0.004) / 1e4 + 6 * 0.004 / 1e4 + 2 * 0.40e-6
    assert units.cost(prices) == pytest.approx(expected, rel=1e-12)
    # Flex Consumption on demand: $0.000026 per GB-s of instance memory.
    duration = Units(function_gb_seconds=2)
    assert duration.cost(prices) == pytest.approx(2 * 0.000026, rel=1e-12)
    assert duration.cost(prices, duration=False) == 0
    # At rest: the host's polls of two queues, a poll a minute each.
    assert prices.idle_units(10, False) == Units(queue_class2=2 * 730 * 60)
    assert prices.vm_per_hour("B1ms") == 0.0207


def test_provisioned_throughput_bills_by_the_hour_instead_of_by_request(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"cosmos-provisioned-rus": 400}))
    prices = Prices.load(path)
    assert Units(cosmos_ru=1e6).cost(prices) == 0
    idle = prices.idle_units(1, False)
    assert idle.cosmos_100rus_hours == 4 * 730
    assert idle.cost(prices) == pytest.approx(4 * 730 * 0.008 + 2 * 730 * 60 * 0.004 / 1e4)


def test_the_free_grant_is_listed_and_not_subtracted() -> None:
    prices = Prices()
    grant = prices.free_grant()
    assert grant == Units(function_executions=250_000, function_gb_seconds=100_000)
    # Worth 250,000 x $0.40 / 1e6 + 100,000 x $0.000026 = $0.10 + $2.60 a month.
    assert grant.cost(prices) == pytest.approx(2.70, rel=1e-12)
    # The first executions of a month are priced all the same: the figures are marginal prices.
    assert Units(function_executions=1, function_gb_seconds=2).cost(prices) == pytest.approx(0.40e-6 + 2 * 0.000026)


def test_prices_are_overridden_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"blob-write-per-10k": 0.065, "vm_hourly": {"B1ms": 0.02}}))
    prices = Prices.load(path)
    assert prices.blob_write_per_10k == 0.065
    assert prices.vm_per_hour("B1ms") == 0.02
    assert prices.vm_per_hour("B2s") == Prices().vm_per_hour("B2s")
    path.write_text(json.dumps({"flex-per-million-executions": 0.5, "flex_on_demand_per_gb_second": 0.00003}))
    prices = Prices.load(path)
    assert Units(function_executions=2, function_gb_seconds=3).cost(prices) == pytest.approx(2 * 0.5e-6 + 3 * 0.00003)
    path.write_text(json.dumps({"flex_free_executions": 0, "flex_free_gb_seconds": 0}))
    assert Prices.load(path).free_grant().cost(Prices.load(path)) == 0
    path.write_text(json.dumps({"cosmos_ru": 1}))
    with pytest.raises(ConfigurationException, match="Unknown price"):
        Prices.load(path)
    # The Consumption plan's keys are gone with it: no figure prices a plan the template does not deploy.
    path.write_text(json.dumps({"functions_per_gb_second": 0.000016}))
    with pytest.raises(ConfigurationException, match=r"Unknown price 'functions_per_gb_second'.*flex_on_demand"):
        Prices.load(path)
    with pytest.raises(ConfigurationException, match=r"No price for instance type 't3\.small'.*B1ms"):
        Ensemble("t3.small").monthly(Prices())


def test_a_month_against_three_b1ms_by_hand() -> None:
    write = Units(cosmos_ru=40, queue_class1=6, function_executions=2)
    read = Units(cosmos_ru=1)
    measured = Measured(
        read=read,
        write=write,
        heartbeat_fixed=Units(cosmos_ru=3, function_executions=1),
        heartbeat_per_session=Units(cosmos_ru=2),
    )
    workload = Workload(requests_per_day=1_000_000, read_share=0.9, clients=10, heartbeat_minutes=1)
    cost = monthly_cost(workload, measured, Ensemble("B1ms", vms=3, disk_gb=32), Prices())

    days = 730 / 24
    assert cost.reads == pytest.approx(900_000 * days * 0.25e-6)
    assert cost.writes == pytest.approx(100_000 * days * write.cost(Prices()))
    # 43,800 runs a month, each 23 RU (3 + 2 x 10 sessions) and an execution; no free grant subtracted
    assert cost.heartbeats == pytest.approx(43_800 * (23 * 0.25e-6 + 0.40e-6))
    assert cost.idle_polling == pytest.approx(2 * 43_800 * 0.004 / 1e4)
    assert cost.vms == pytest.approx(3 * 0.0207 * 730)
    assert cost.disks == pytest.approx(3 * 32 * 0.075)


def test_the_provider_prices_its_deployments_with_the_azure_model() -> None:
    from faaskeeper.plugins.manager import get_provider

    model = get_provider("azure").cost_model(azure_config())
    assert isinstance(model, AzureCostModel)
    assert isinstance(model.prices(), Prices)
    assert (model.default_vm, model.default_disk_gb) == ("B1ms", 32.0)


def test_the_instance_memory_priced_is_the_one_the_template_deploys() -> None:
    one_execution: dict[Key, float] = {("functions", "executions"): 1, ("functions", "ms"): 1000}
    for memory in (512, 2048, 4096):
        config = Config.deserialize(
            {
                "cloud-provider": "azure",
                "deployment-name": f"c{uuid.uuid4().hex[:8]}",
                "azure": {"subscription": "12345678-1234-1234-1234-123456789abc", "instance-memory": memory},
            }
        )
        options = CloudOptions.of(config)
        assert options is not None
        template = build_template(cloud.endpoints_config(config, options), AzureSettings.from_config(config), options)
        [plan] = [r for r in template["resources"] if r["type"] == "Microsoft.Web/serverfarms"]
        assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
        [site] = [r for r in template["resources"] if r["type"] == "Microsoft.Web/sites"]
        deployed = site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"]
        model = AzureCostModel(config)
        assert model.settings() == {"plan": "FlexConsumption", "instance_memory_mb": deployed}
        assert deployed == memory
        assert model.units(one_execution).function_gb_seconds == memory / 1024
        assert f"{memory} MB instances" in model.describe(model.prices())


def test_the_emulated_deployment_is_priced_on_its_configured_instance_memory() -> None:
    default = AzureCostModel(azure_config())
    assert default.instance_memory_mb == CloudOptions.instance_memory == 2048  # the template's default
    assert default.units({("functions", "ms"): 1000}).function_gb_seconds == 2.0
    config = Config.deserialize({"cloud-provider": "azure", "deployment-name": "d", "azure": {"instance-memory": 4096}})
    assert AzureCostModel(config).units({("functions", "ms"): 1000}).function_gb_seconds == 4.0
    bad = Config.deserialize({"cloud-provider": "azure", "deployment-name": "d", "azure": {"instance-memory": 1024}})
    with pytest.raises(ConfigurationException, match=r"'azure\.instance-memory' must be one of 512, 2048, 4096"):
        AzureCostModel(bad)


def test_only_the_emulators_count_as_emulated(azure_emulators: Emulators) -> None:
    assert AzureCostModel(azure_config(azure_emulators)).emulated()
    cloud = Config.deserialize(
        {
            "cloud-provider": "azure",
            "deployment-name": "d",
            "azure": {
                "cosmos-endpoint": "https://acct.documents.azure.com:443/",
                "cosmos-key": "k",
                "storage-connection-string": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k",
            },
        }
    )
    assert not AzureCostModel(cloud).emulated()


def test_fk_cost_refuses_a_real_subscription(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from faaskeeper_deploy.cli import main

    path = tmp_path / "azure.json"
    path.write_text(
        json.dumps(
            {
                "cloud-provider": "azure",
                "deployment-name": "d",
                "azure": {
                    "cosmos-endpoint": "https://acct.documents.azure.com:443/",
                    "cosmos-key": "k",
                    "storage-connection-string": "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=k",
                },
            }
        )
    )
    assert main(["cost", "--config", str(path)]) == 1
    assert "--allow-real-cloud" in capsys.readouterr().err


# -- measured on the emulators ------------------------------------------------------------------


def test_operations_are_measured_with_the_functions_served_here(deployed: Callable[..., Config]) -> None:
    from faaskeeper.api.cost import OPERATIONS, WRITES

    model = AzureCostModel(deployed(**{"heartbeat-frequency": 60, "session-timeout": 180}))
    assert model.emulated()
    measurement = model.measure_operations(repetitions=2, size=100)

    assert list(measurement.requests) == list(OPERATIONS)
    for read in ("get_data", "exists"):
        units = model.units(measurement.requests[read])
        assert units.blob_read + units.blob_other == 1, measurement.requests[read]
        assert (units.cosmos_ru, units.function_executions) == (0, 0), measurement.requests[read]
    for write in WRITES:
        counted = measurement.requests[write]
        # The request and the distributor's doorbell: each sent, received by the host, deleted.
        assert counted[("functions", "executions")] == 2, (write, counted)
        assert counted[("queue", "PutMessage")] >= 2, (write, counted)
        assert counted[("queue", "GetMessages")] == 2, (write, counted)
        assert counted[("queue", "DeleteMessage")] == 2, (write, counted)
        assert ("queue", "GetMessages.empty") not in counted, "the emulated host's idle polls are not billed"
        assert counted[("cosmos", "milli-RU")] > 10_000, (write, counted)
        assert not any(":" in service for service, _ in counted), "per-function counters repeat the totals"


@pytest.mark.parametrize("clients", [1, 4])
def test_operations_under_load_are_counted_per_call(deployed: Callable[..., Config], clients: int) -> None:
    model = AzureCostModel(deployed(**{"heartbeat-frequency": 60, "session-timeout": 180}))
    # Each session has a call due every 0.5 s for 3 s: 6 calls each, every other one a read.
    load = model.measure_load(clients=clients, rate=2 * clients, seconds=3, read_share=0.5, size=100)

    assert load.issued == {"set_data": 3 * clients, "get_data": 3 * clients}
    assert load.completed == load.issued, load.errors
    writes = load.completed["set_data"]
    # A queue trigger is handed one message: the request, then the distributor's doorbell.
    assert load.batches == {"writer": {1: writes}, "distributor": {1: writes}}, load.batches
    counted = load.requests["set_data"]
    assert counted[("functions", "executions")] == pytest.approx(2), counted
    assert counted[("queue", "GetMessages")] == pytest.approx(2), counted
    assert counted[("queue", "DeleteMessage")] == pytest.approx(2), counted
    read = model.units(load.requests["get_data"])
    assert read.blob_read + read.blob_other == pytest.approx(1), load.requests["get_data"]
    assert (read.cosmos_ru, read.function_executions) == (0, 0), load.requests["get_data"]


def test_fk_cost_answers_a_month_of_a_million_requests_a_day(
    deployed: Callable[..., Config], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from faaskeeper_deploy.cli import main

    config_file = tmp_path / "azure.json"
    config_file.write_text(json.dumps(deployed(**{"heartbeat-frequency": 60, "session-timeout": 180}).serialize()))
    out = tmp_path / "cost.json"
    code = main(
        [
            *("cost", "--config", str(config_file), "--repetitions", "2"),
            *("--requests-per-day", "1000000", "--read-share", "90%", "--json", str(out)),
        ]
    )

    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "FaaSKeeper on Azure" in printed
    assert "3 x B1ms ($0.0207/h)" in printed
    assert "3 x 32 GB Standard SSD" in printed
    assert "Break-even:" in printed
    document = json.loads(out.read_text())
    assert (document["plan"], document["instance_memory_mb"]) == ("FlexConsumption", 2048)
    rows = {row["operation"]: row for row in document["operations"]}
    assert rows["get_data"]["usd_per_100k"] == pytest.approx(0.04)  # one blob read
    set_data = rows["set_data"]["units"]
    # Two executions, each billed at least 1,000 ms on a 2 GB instance.
    assert set_data["function_executions"] == 2
    assert set_data["function_gb_seconds"] >= 2 * 2.0
    duration = rows["set_data"]["usd_per_100k_with_duration"] - rows["set_data"]["usd_per_100k"]
    assert duration == pytest.approx(1e5 * set_data["function_gb_seconds"] * 0.000026, rel=1e-9)
    monthly = document["monthly"]["monthly_usd"]
    days = 730 / 24
    assert monthly["reads"] == pytest.approx(900_000 * days * rows["get_data"]["usd_per_op"])
    assert monthly["writes"] == pytest.approx(100_000 * days * rows["set_data"]["usd_per_op"])
    assert monthly["ensemble"] == pytest.approx(3 * 0.0207 * 730 + 3 * 32 * 0.075)
    heartbeat = document["monthly"]["heartbeat_requests"]
    assert heartbeat["fixed"]["functions.executions"] == 1
    assert monthly["heartbeats"] > 0


def test_fk_bench_serves_the_functions_of_an_emulated_deployment(deployed: Callable[..., Config]) -> None:
    from faaskeeper_deploy.bench import OPERATIONS, run_bench

    config = deployed()
    result = run_bench(config, repetitions=2, warmup=0)

    fk = result.faaskeeper
    assert fk.description["provider"] == "azure"
    assert fk.description["config"]["azure"] == config.provider_section
    assert "function host" in fk.description["functions"]
    assert set(fk.operations) == set(OPERATIONS)
    assert all(len(fk.samples_ns[op]) == 2 for op in OPERATIONS)
