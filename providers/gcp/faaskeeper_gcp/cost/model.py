"""``fk cost`` on GCP: the deployment measured with its functions served here by functions-framework
on the Firestore and Pub/Sub emulators, priced from :class:`faaskeeper_gcp.cost.pricing.Prices`."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from faaskeeper.api.cost import CostModel, HeartbeatMeasurement, LoadMeasurement, Measurement, PriceTable
from faaskeeper.config import Config
from faaskeeper.metering import Key
from faaskeeper_gcp.cost.pricing import Prices, Units, billable_units
from faaskeeper_gcp.deploy.cloud_options import DeployOptions
from faaskeeper_gcp.names import EMULATOR_VARIABLES
from faaskeeper_gcp.settings import GcpSettings


class GcpCostModel(CostModel):
    columns = (
        ("FS reads", "firestore_reads"),
        ("FS writes", "firestore_writes"),
        ("FS deletes", "firestore_deletes"),
        ("Pub/Sub B", "pubsub_bytes"),
        ("Runs", "function_requests"),
        ("GiB-s", "function_gib_seconds"),
        ("vCPU-s", "function_vcpu_seconds"),
    )
    default_vm = "e2-small"
    default_disk_gb = 10.0
    requests_heading = "Requests per operation (client + functions + Pub/Sub pushes to them), averaged:"
    functions_platform = "Cloud Functions"
    real_cloud_refusal = (
        "fk cost creates and deletes nodes and serves the functions itself with functions-framework: point it "
        "at the emulators (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST and the config's gcp.functions-endpoint), "
        "or pass --allow-real-cloud"
    )

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self._settings = GcpSettings.from_config(config)
        self._options = DeployOptions.from_config(config)

    def prices(self, path: str | None = None) -> Prices:
        return Prices.load(path) if path else Prices()

    def emulated(self) -> bool:
        return self._settings.functions_endpoint is not None and all(os.environ.get(v) for v in EMULATOR_VARIABLES)

    def _config(self) -> Config:
        """The config measured: without a functions endpoint off the emulators (nothing served here)."""
        if self.emulated() or self._settings.functions_endpoint is None:
            return self.config
        raw = self.config.serialize()
        raw["gcp"] = {k: v for k, v in raw.get("gcp", {}).items() if k != "functions-endpoint"}
        return Config.deserialize(raw)

    def measure_operations(self, *, repetitions: int, size: int) -> Measurement:
        from faaskeeper_gcp.cost.measure import measure_operations

        return measure_operations(self._config(), repetitions=repetitions, size=size)

    def measure_load(
        self, *, clients: int, rate: float, seconds: float, read_share: float, size: int
    ) -> LoadMeasurement:
        from faaskeeper_gcp.cost.measure import measure_load

        return measure_load(
            self._config(), clients=clients, rate=rate, seconds=seconds, read_share=read_share, size=size
        )

    def measure_heartbeat(self) -> HeartbeatMeasurement | None:
        if not self.emulated():
            return None
        from faaskeeper_gcp.cost.measure import measure_heartbeat

        return measure_heartbeat(self.config)

    def units(self, counts: Mapping[Key, float]) -> Units:
        return billable_units(counts, memory_mb=self._options.memory, vcpus=self._options.vcpus)

    def heartbeat_minutes(self) -> float:
        return self._options.heartbeat_minutes

    def describe(self, prices: PriceTable) -> str:
        return (
            f"prices {prices.region} as of {prices.source_date}, functions of {self._options.memory} MiB "
            f"({self._options.vcpus:g} vCPU)"
        )

    def notes(self) -> list[str]:
        return [
            "$/op and $/100k: requests only (Firestore documents; Pub/Sub throughput of each publish and each push "
            "to a function, at least 1000 B a request; function invocations, not duration); $/100k+dur adds the "
            "functions' GiB-seconds and vCPU-seconds from the milliseconds measured on this machine (rounded up "
            "to 100 ms each), which are not the cloud's."
        ]

    def settings(self) -> dict[str, Any]:
        return {"memory_mb": self._options.memory, "vcpus": self._options.vcpus}

    def bench_functions(self) -> AbstractContextManager[dict[str, Any]]:
        return _served(self.config, self._settings.functions_endpoint)


@contextmanager
def _served(config: Config, endpoint: str | None) -> Iterator[dict[str, Any]]:
    """The functions served here for the block, unless a function host already serves their endpoint."""
    from faaskeeper_gcp.functions.host import FunctionServer, endpoint_in_use

    if endpoint is None:
        yield {}
        return
    if endpoint_in_use(endpoint):
        yield {"functions": f"served at {endpoint} by another process", "endpoint": endpoint}
        return
    server = FunctionServer(config)
    server.start()
    try:
        yield {
            "functions": "functions-framework (faaskeeper_gcp.functions.host) in the bench process",
            "endpoint": endpoint,
        }
    finally:
        server.stop()
