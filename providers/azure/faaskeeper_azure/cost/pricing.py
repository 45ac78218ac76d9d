"""Azure list prices, and the billable units of the requests :mod:`faaskeeper_azure.cost.metering` counts.

:class:`Prices` holds public pay-as-you-go list prices for East US as published on Azure's
pricing pages (``source``), copied by hand on ``source_date``; ``fk cost --prices FILE``
overrides any of them from a JSON object whose keys are the field names
(``"blob_write_per_10k": 0.065``). Volume tiers and reservations are ignored: these are the
first-tier prices. The same table holds Linux VM prices by size (``vm_hourly``) and Standard SSD
managed disks per GB-month, for the ZooKeeper ensemble ``fk cost`` compares with. Check them
before relying on a figure.

Each figure's comment says where it was checked on 2026-12-07 (Azure's own pricing pages render
their prices in the browser, so the checks are against pages that state them), or that no page
stating it was at hand; none of the checked figures had changed.

The functions are priced on the **Consumption** plan. The template deploys them on **Flex
Consumption**, which bills an execution's time on the instance's memory (``instance-memory``,
2048 MB by default, not the observed 256 MB) at $0.000026 per GB-s on demand
(https://modal.com/blog/azure-function-pricing-guide, 2025-05-22), with executions and free grants
of its own (not checked here): on Flex, the execution-time part is some 13 times the figure shown
(8 times the memory at 1.6 times the rate); the requests-only total does not include it.

:func:`billable_units` turns metering counters (``(service, unit)`` -> count) into :class:`Units`:

Cosmos DB (NoSQL API)
    ``milli-RU``: request units, billed per million on a serverless account. With
    ``cosmos_provisioned_rus`` above 0 the account is priced as provisioned throughput instead:
    requests then cost nothing each, and the throughput is billed every hour whatever the load
    (:meth:`Prices.idle_units`), per 100 RU/s.
Blob Storage (Hot tier, LRS, general-purpose v2)
    Write operations (``PutBlob``, ``PutBlock``, ``PutBlockList``, ``AppendBlock``, ``CopyBlob``,
    ``SetBlob.*``) with list and create-container operations (``ListBlobs``, ``ListContainers``,
    ``CreateContainer``), which cost the same on the Hot tier; read operations (``GetBlob``);
    all other operations (``GetBlobProperties``, metadata, leases...). Deletes are free.
Queue Storage (LRS, general-purpose v2)
    Class 1 operations (``PutMessage``, ``UpdateMessage``, ``DeleteMessage``, ``ClearMessages``,
    ``CreateQueue``, ``DeleteQueue``, ``ListQueues``, ``SetQueue*`` and a ``GetMessages`` that
    returned messages, billed as a write); class 2 operations (an empty ``GetMessages``,
    ``PeekMessages``, ``GetQueueMetadata``, ``GetQueueACL``).
Azure Functions (Consumption plan)
    ``("functions", "executions")``: one execution each; ``("functions", "ms")``: billed
    milliseconds (each execution at least 100 ms) times the function's observed memory, rounded
    up to 128 MB (``memory_mb``), in GB-seconds. Milliseconds measured on this machine are not
    Azure's: treat duration as indicative only. The monthly free grant (``functions_free_*``:
    1 million executions and 400,000 GB-s per subscription) is listed but not subtracted, as the
    other clouds' free tiers are not: the figures are marginal prices. Per-function keys
    (``functions:<name>``) repeat the totals.

Storage of the data (Cosmos DB, blobs, queue messages in flight) is per GB-month and left out of
the per-operation figures; the prices are in the table for reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from faaskeeper.pricing import PriceTableMethods, UnitsMethods

#: Linux pay-as-you-go list prices in East US, USD per hour (as of ``Prices.source_date``). Not
#: checked: no page stating them was at hand.
VM_HOURLY: dict[str, float] = {
    "B1s": 0.0104,
    "B1ms": 0.0207,
    "B2s": 0.0416,
    "B2ms": 0.0832,
    "B4ms": 0.166,
    "D2s_v5": 0.096,
    "D2as_v5": 0.086,
    "D4s_v5": 0.192,
    "F2s_v2": 0.0846,
}

#: A month is 730 hours.
HOURS_PER_MONTH = 730.0
#: Seconds between the Functions host's polls of an idle queue (host.json's default maxPollingInterval).
IDLE_POLL_SECONDS = 60.0
#: The queues a deployment's functions are triggered by (writer, distributor).
FUNCTION_QUEUES = 2
GB = 1024


@dataclass(frozen=True)
class Prices(PriceTableMethods):
    """USD list prices, East US, pay-as-you-go, first tier, in the units Azure publishes them."""

    cloud: ClassVar[str] = "Azure"
    disk_kind: ClassVar[str] = "Standard SSD"
    idle_label: ClassVar[str] = "idle queue polls (estimate), provisioned RU/s"
    requests_total_label: ClassVar[str] = "total (executions, not duration)"
    duration_total_label: ClassVar[str] = "total with locally measured execution time"

    source_date: str = "2025-06-01"
    region: str = "eastus"
    source: str = (
        "https://azure.microsoft.com/pricing/details/cosmos-db/serverless/ and .../autoscale-provisioned/ "
        "(standard provisioned throughput, single region); https://azure.microsoft.com/pricing/details/storage/blobs/ "
        "(Hot, LRS, GPv2); https://azure.microsoft.com/pricing/details/storage/queues/ (LRS, GPv2); "
        "https://azure.microsoft.com/pricing/details/functions/ (Consumption plan)"
    )
    #: Cosmos DB serverless, per million request units. Checked: Microsoft's "Understand your Azure
    #: Cosmos DB bill" (https://learn.microsoft.com/azure/cosmos-db/understand-your-bill, US
    #: regions: "500,000 * $0.25/million").
    cosmos_serverless_per_million_ru: float = 0.25
    #: Cosmos DB standard provisioned throughput, per 100 RU/s an hour (single-region writes).
    #: Checked: the same page ("$0.008/hour per 100 RU/sec", $0.016 with multi-region writes).
    cosmos_provisioned_per_100_rus_hour: float = 0.008
    #: RU/s provisioned on the database; 0 prices a serverless account.
    cosmos_provisioned_rus: float = 0.0
    #: Cosmos DB transactional storage, per GB-month (for reference). Checked: the same page ("$0.25/GB").
    cosmos_storage_per_gb_month: float = 0.25
    #: Blob Storage Hot LRS, per 10,000 operations: write (with list and create container), read, other.
    #: Not checked: no page stating them was at hand (Microsoft's cost-estimation article,
    #: learn.microsoft.com/azure/storage/blobs/blob-storage-estimate-costs, uses sample prices
    #: it calls fictitious, $0.055 and $0.0044); the figures of https://azure.microsoft.com/pricing/details/storage/blobs/.
    blob_write_per_10k: float = 0.05
    blob_read_per_10k: float = 0.004
    blob_other_per_10k: float = 0.004
    #: Blob Storage Hot LRS, per GB-month, first 50 TB (for reference).
    blob_storage_per_gb_month: float = 0.018
    #: Queue Storage LRS (GPv2), per 10,000 class 1 and class 2 operations. Not checked: no page
    #: stating them was at hand; the figures of https://azure.microsoft.com/pricing/details/storage/queues/.
    queue_class1_per_10k: float = 0.004
    queue_class2_per_10k: float = 0.004
    #: Queue Storage LRS, per GB-month (for reference).
    queue_storage_per_gb_month: float = 0.045
    #: Azure Functions Consumption plan, per million executions and per GB-second. Checked:
    #: https://modal.com/blog/azure-function-pricing-guide (2025-05-22, East US: "$0.000016 per
    #: GB-second", "$0.20 per million executions"); Flex Consumption: see the module's docstring.
    functions_per_million_executions: float = 0.20
    functions_per_gb_second: float = 0.000016
    #: The Consumption plan's monthly free grant per subscription (listed, not subtracted). Checked:
    #: https://azure.microsoft.com/pricing/details/functions/ ("1 million requests and 400,000 GB-s").
    functions_free_executions: float = 1_000_000
    functions_free_gb_seconds: float = 400_000
    #: Linux VMs, USD per hour, by size: the VMs of a ZooKeeper ensemble.
    vm_hourly: Mapping[str, float] = field(default_factory=lambda: dict(VM_HOURLY))
    #: Standard SSD managed disk, USD per GB-month (an E4 disk, 32 GiB, is $2.40 a month).
    standard_ssd_per_gb_month: float = 0.075
    vm_source: str = (
        "https://azure.microsoft.com/pricing/details/virtual-machines/linux/ (East US, pay as you go); "
        "https://azure.microsoft.com/pricing/details/managed-disks/ (Standard SSD, LRS)"
    )

    @property
    def disk_per_gb_month(self) -> float:
        return self.standard_ssd_per_gb_month

    def idle_units(self, clients: int, queue_channel: bool) -> Units:
        """A month at rest: the Functions host's polls of the writer's and the distributor's queues
        (an empty ``GetMessages``, class 2, every :data:`IDLE_POLL_SECONDS` per queue; with a queue
        channel each client's too), and the provisioned throughput if any."""
        pollers = FUNCTION_QUEUES + (clients if queue_channel else 0)
        return Units(
            queue_class2=pollers * HOURS_PER_MONTH * 3600 / IDLE_POLL_SECONDS,
            cosmos_100rus_hours=self.cosmos_provisioned_rus / 100 * HOURS_PER_MONTH,
        )


@dataclass(frozen=True)
class Units(UnitsMethods):
    """Billable units of some requests (floats: they are often averages)."""

    duration_cost: ClassVar[str] = "functions_duration"

    cosmos_ru: float = 0.0
    cosmos_100rus_hours: float = 0.0
    blob_write: float = 0.0
    blob_read: float = 0.0
    blob_other: float = 0.0
    queue_class1: float = 0.0
    queue_class2: float = 0.0
    function_executions: float = 0.0
    function_gb_seconds: float = 0.0

    def costs(self, prices: Prices) -> dict[str, float]:
        """USD per service (``cosmos``, ``blob``, ``queue``, ``functions``, ``functions_duration``)."""
        serverless = prices.cosmos_provisioned_rus == 0
        return {
            "cosmos": (self.cosmos_ru * prices.cosmos_serverless_per_million_ru / 1e6 if serverless else 0.0)
            + self.cosmos_100rus_hours * prices.cosmos_provisioned_per_100_rus_hour,
            "blob": (
                self.blob_write * prices.blob_write_per_10k
                + self.blob_read * prices.blob_read_per_10k
                + self.blob_other * prices.blob_other_per_10k
            )
            / 1e4,
            "queue": (self.queue_class1 * prices.queue_class1_per_10k + self.queue_class2 * prices.queue_class2_per_10k)
            / 1e4,
            "functions": self.function_executions * prices.functions_per_million_executions / 1e6,
            "functions_duration": self.function_gb_seconds * prices.functions_per_gb_second,
        }


_BLOB_WRITES = frozenset(
    {"PutBlob", "PutBlock", "PutBlockList", "AppendBlock", "CopyBlob", "ListBlobs", "ListContainers", "CreateContainer"}
)
_BLOB_FREE = frozenset({"DeleteBlob", "DeleteContainer"})
_QUEUE_CLASS2 = frozenset(
    {"GetMessages.empty", "PeekMessages", "GetQueueMetadata", "GetQueueACL", "QueueServiceProperties"}
)


def memory_bucket(memory_mb: float) -> int:
    """Memory as the Consumption plan bills it: rounded up to 128 MB."""
    return max(128, -(-int(memory_mb) // 128) * 128)


def billable_units(counts: Mapping[tuple[str, str], float], *, memory_mb: int = 256) -> Units:
    """The billable units of metering counters (see the module's assumptions), for functions
    observed using ``memory_mb`` MB."""
    ru = write = read = other = class1 = class2 = executions = ms = 0.0
    for (service, unit), n in counts.items():
        if service == "cosmos":
            if unit == "milli-RU":
                ru += n / 1000
        elif service == "blob":
            if unit in _BLOB_FREE:
                continue
            if unit in _BLOB_WRITES or unit.startswith("SetBlob."):
                write += n
            elif unit == "GetBlob":
                read += n
            else:
                other += n
        elif service == "queue":
            if unit in _QUEUE_CLASS2:
                class2 += n
            else:
                class1 += n
        elif service == "functions":
            if unit == "executions":
                executions += n
            elif unit == "ms":
                ms += n
    return Units(
        cosmos_ru=ru,
        blob_write=write,
        blob_read=read,
        blob_other=other,
        queue_class1=class1,
        queue_class2=class2,
        function_executions=executions,
        function_gb_seconds=ms / 1000 * memory_bucket(memory_mb) / GB,
    )
