"""``fk cost`` on Azure: the deployment measured with its functions served here by the function host
on Azurite and the Cosmos DB emulator, priced from :class:`faaskeeper_azure.cost.pricing.Prices`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from urllib.parse import urlsplit

from faaskeeper.api.cost import CostModel, HeartbeatMeasurement, LoadMeasurement, Measurement, PriceTable
from faaskeeper.config import Config
from faaskeeper.metering import Key
from faaskeeper_azure.cost.metering import EXECUTION_STEP_MS, MIN_EXECUTION_MS
from faaskeeper_azure.cost.pricing import Prices, Units, billable_units
from faaskeeper_azure.deploy.cloud_options import instance_memory
from faaskeeper_azure.settings import LOOPBACK, AzureSettings


def _storage_hosts(connection_string: str) -> set[str]:
    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    if parts.get("UseDevelopmentStorage", "").lower() == "true":
        return {"127.0.0.1"}
    endpoints = [v for k, v in parts.items() if k.endswith("Endpoint")]
    if not endpoints:
        return {f"{parts.get('AccountName', '')}.core.windows.net"}
    return {urlsplit(v).hostname or "" for v in endpoints}


class AzureCostModel(CostModel):
    columns = (
        ("RU", "cosmos_ru"),
        ("Blob W", "blob_write"),
        ("Blob R", "blob_read"),
        ("Blob oth", "blob_other"),
        ("Q cl.1", "queue_class1"),
        ("Q cl.2", "queue_class2"),
        ("Runs", "function_executions"),
        ("GB-s", "function_gb_seconds"),
    )
    default_vm = "B1ms"
    default_disk_gb = 32.0
    requests_heading = "Requests per operation (client + functions + the Functions host per message), averaged:"
    functions_platform = "Azure Functions"
    real_cloud_refusal = (
        "fk cost creates and deletes nodes and serves the functions itself with the function host: point it at "
        "the emulators (python -m faaskeeper_azure.emulator.servers prints their config section), or pass "
        "--allow-real-cloud"
    )

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._settings = AzureSettings.from_config(config)
        #: The memory of the Flex Consumption instances the config deploys, which every execution is billed on.
        self.instance_memory_mb = instance_memory(config)

    def prices(self, path: str | None = None) -> Prices:
        return Prices.load(path) if path else Prices()

    def emulated(self) -> bool:
        """Whether Cosmos DB and the storage account are both on this machine (the emulators)."""
        endpoint, connection = self._settings.cosmos_endpoint, self._settings.storage_connection_string
        if endpoint is None or connection is None:
            return False
        return urlsplit(endpoint).hostname in LOOPBACK and _storage_hosts(connection) <= LOOPBACK

    def measure_operations(self, *, repetitions: int, size: int) -> Measurement:
        from faaskeeper_azure.cost.measure import measure_operations

        return measure_operations(self.config, repetitions=repetitions, size=size, functions=self.emulated())

    def measure_load(
        self, *, clients: int, rate: float, seconds: float, read_share: float, size: int
    ) -> LoadMeasurement:
        from faaskeeper_azure.cost.measure import measure_load

        return measure_load(
            self.config,
            clients=clients,
            rate=rate,
            seconds=seconds,
            read_share=read_share,
            size=size,
            functions=self.emulated(),
        )

    def measure_heartbeat(self) -> HeartbeatMeasurement | None:
        if not self.emulated():
            return None
        from faaskeeper_azure.cost.measure import measure_heartbeat

        return measure_heartbeat(self.config)

    def units(self, counts: Mapping[Key, float]) -> Units:
        return billable_units(counts, instance_memory_mb=self.instance_memory_mb)

    def heartbeat_minutes(self) -> float:
        return self.config.heartbeat_interval / 60

    def describe(self, prices: PriceTable) -> str:
        table: Any = prices
        cosmos = (
            f"Cosmos DB provisioned {table.cosmos_provisioned_rus:g} RU/s"
            if table.cosmos_provisioned_rus
            else "Cosmos DB serverless"
        )
        return (
            f"prices {prices.region} as of {prices.source_date}, {cosmos}, Functions Flex Consumption on demand, "
            f"{self.instance_memory_mb} MB instances"
        )

    def notes(self) -> list[str]:
        grant = Prices().free_grant()
        return [
            "$/op and $/100k: requests only (Cosmos DB request units estimated from Azure's documented costs, "
            "as the emulator charges none; blob and queue operations by billing class; function executions, not "
            "duration); $/100k+dur adds the execution time Flex Consumption bills on the instance memory "
            f"({self.instance_memory_mb} MB, azure.instance-memory): each execution at least {MIN_EXECUTION_MS:,} ms, "
            f"then in steps of {EXECUTION_STEP_MS} ms, from the milliseconds measured on this machine, which are "
            "not Azure's; executions sharing an instance share its billed time, so this is an upper bound. "
            "The Flex Consumption free grant (a month per subscription: the price table's flex_free_executions "
            f"and flex_free_gb_seconds, by default {grant.function_executions:,.0f} executions and "
            f"{grant.function_gb_seconds:,.0f} GB-s) is not subtracted."
        ]

    def settings(self) -> dict[str, Any]:
        return {"plan": "FlexConsumption", "instance_memory_mb": self.instance_memory_mb}

    def bench_functions(self) -> AbstractContextManager[dict[str, Any]]:
        return _served(self.config, self.emulated())


@contextmanager
def _served(config: Config, emulated: bool) -> Iterator[dict[str, Any]]:
    """The functions served here for the block on the emulators, unless another process serves them."""
    from faaskeeper_azure.cost.measure import endpoint_in_use, functions_endpoint
    from faaskeeper_azure.functions.host import FunctionHost

    if not emulated:
        yield {}
        return
    endpoint = functions_endpoint(config)
    if endpoint is not None and endpoint_in_use(endpoint):
        yield {"functions": f"served at {endpoint} by another process", "endpoint": endpoint}
        return
    host = FunctionHost(config)
    host.start()
    try:
        yield {
            "functions": "the function host (faaskeeper_azure.functions.host) in the bench process",
            "endpoint": endpoint or "-",
        }
    finally:
        host.stop()
