"""``fk cost`` on AWS: the deployment measured with its functions in the Lambda emulator, priced
from :class:`faaskeeper_aws.cost.pricing.Prices`, beside the upstream FaaSKeeper's write and read."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar

from faaskeeper.api.cost import CostModel, HeartbeatMeasurement, LoadMeasurement, Measurement, PriceTable
from faaskeeper.api.cost import Units as BillableUnits
from faaskeeper.config import Config
from faaskeeper.metering import Key
from faaskeeper_aws.cost.pricing import UPSTREAM_READ, UPSTREAM_WRITE, Prices, Units, billable_units
from faaskeeper_aws.deploy.tunables import DeployOptions


class AwsCostModel(CostModel):
    columns = (
        ("DDB RRU", "dynamodb_rru"),
        ("DDB WRU", "dynamodb_wru"),
        ("S3 PUT", "s3_put"),
        ("S3 GET", "s3_get"),
        ("SQS req", "sqs_requests"),
        ("Lambda", "lambda_requests"),
        ("GB-s", "lambda_gb_seconds"),
    )
    default_vm = "t3.small"
    default_disk_gb = 8.0
    requests_heading = "Requests per operation (client + functions + Lambda's SQS poller per batch), averaged:"
    functions_platform = "Lambda"
    real_cloud_refusal = (
        "fk cost creates and deletes nodes and runs the functions in the Lambda emulator: point it at an "
        "emulator (AWS_ENDPOINT_URL or the config's aws.endpoint-url), or pass --allow-real-aws"
    )
    _NOTE: ClassVar[str] = (
        "$/op and $/100k: requests only (Lambda requests, not duration); $/100k+dur adds Lambda GB-seconds "
        "from the emulator's billed ms, which are not Lambda's. Upstream: 2 SQS FIFO, 3 DynamoDB writes + "
        "1 read, 1 S3 PUT, 2 Lambda runs per write; 1 S3 GET per read; no poller requests."
    )

    def __init__(self, config: Config, *, functions: str | None = None) -> None:
        """``functions``: how the measurement runs the functions (see
        :func:`faaskeeper_aws.cost.measure.measure_operations`); by default the stack's on an emulator, none on AWS."""
        super().__init__(config)
        self._memory = DeployOptions.from_config(config).memory
        self._functions = functions or ("deployed" if self.emulated() else "none")

    def prices(self, path: str | None = None) -> Prices:
        return Prices.load(path) if path else Prices()

    def emulated(self) -> bool:
        return _endpoint(self.config) is not None

    def measure_operations(self, *, repetitions: int, size: int) -> Measurement:
        from faaskeeper_aws.cost.measure import measure_operations

        return measure_operations(self.config, repetitions=repetitions, size=size, functions=self._functions)

    def measure_load(
        self, *, clients: int, rate: float, seconds: float, read_share: float, size: int
    ) -> LoadMeasurement:
        from faaskeeper_aws.cost.measure import measure_load

        return measure_load(
            self.config,
            clients=clients,
            rate=rate,
            seconds=seconds,
            read_share=read_share,
            size=size,
            functions=self._functions,
        )

    def measure_heartbeat(self) -> HeartbeatMeasurement | None:
        if self._functions == "none":
            return None
        from faaskeeper_aws.cost.measure_heartbeat import measure_heartbeat

        return measure_heartbeat(self.config, functions=self._functions)

    def units(self, counts: Mapping[Key, float]) -> Units:
        return billable_units(counts, memory_mb=self._memory)

    def references(self) -> list[tuple[str, BillableUnits]]:
        return [("upstream write", UPSTREAM_WRITE), ("upstream read", UPSTREAM_READ)]

    def heartbeat_minutes(self) -> float:
        return DeployOptions.from_config(self.config).heartbeat_minutes

    def describe(self, prices: PriceTable) -> str:
        return f"prices {prices.region} as of {prices.source_date}, Lambda arm64 {self._memory} MB"

    def notes(self) -> list[str]:
        return [self._NOTE]

    def settings(self) -> dict[str, Any]:
        return {"memory_mb": self._memory}

    def bench_functions(self) -> AbstractContextManager[dict[str, Any]]:
        return _emulated_functions(self.config)


def _endpoint(config: Config) -> str | None:
    endpoint = config.provider_section.get("endpoint-url") or os.environ.get("AWS_ENDPOINT_URL")
    return str(endpoint) if endpoint else None


@contextmanager
def _emulated_functions(config: Config) -> Iterator[dict[str, Any]]:
    """On moto, whose Lambda stores functions but never runs them, the stack's functions run in
    :mod:`faaskeeper_aws.functions.host`'s emulator in this process for the length of the block."""
    endpoint = _endpoint(config)
    if endpoint is None:
        yield {}
        return
    from faaskeeper_aws.cost.measure_heartbeat import SETTLE_SECONDS
    from faaskeeper_aws.functions.deployed import deployed_functions
    from faaskeeper_aws.settings import AwsSettings

    emulator = deployed_functions(AwsSettings.from_config(config))
    try:
        with emulator:
            yield {
                "functions": "Lambda emulator (faaskeeper_aws.functions.host) in the bench process",
                "endpoint": endpoint,
            }
    finally:
        # A stopped emulator's pollers finish the long poll they are in and drop what it returns
        # (it shows again after the visibility timeout): let them end before another run sends.
        time.sleep(SETTLE_SECONDS)
