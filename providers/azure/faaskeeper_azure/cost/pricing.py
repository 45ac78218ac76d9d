"""Azure list prices, and the billable units of the requests :mod:`faaskeeper_azure.cost.metering` counts.

:class:`Prices` holds public pay-as-you-go list prices for East US as published on Azure's
pricing pages (``source``), copied by hand on ``source_date``; ``fk cost --prices FILE``
overrides any of them from a JSON object whose keys are the field names
(``"blob_write_per_10k": 0.065``). Volume tiers and reservations are ignored: these are the
first-tier prices. The same table holds Linux VM prices by size (``vm_hourly``) and Standard SSD
managed disks per GB-month, for the ZooKeeper ensemble ``fk cost`` compares with. Check them
before relying on a figure.

The table is dated (``source_date``) when it was last revised, 2026-12-07. Each figure's comment
says where it was checked then (Azure's own pricing pages render their prices in the browser, so
the checks are against pages that state them), or that no page stating it was at hand, in which
case it is the figure copied on 2025-06-01; none of the figures kept from then that were checked
had changed.

The functions are priced on the plan the template deploys (:mod:`faaskeeper_azure.deploy.template`:
``FC1``, **Flex Consumption**, on demand, no always-ready instances): it bills the memory of the
instance (``azure.instance-memory``, 512, 2048 or 4096 MB, not what the code uses) for the time
the instance is executing, and each execution. The template deploys no other plan, so the table
holds no other plan's prices.

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
Azure Functions (Flex Consumption, on demand)
    ``("functions", "executions")``: one execution each; ``("functions", "ms")``: billed
    milliseconds (:func:`~faaskeeper_azure.cost.metering.billed_ms`: each execution at least
    1,000 ms, then rounded up to 100 ms) times the instance memory (``instance_memory_mb``), in
    GB-seconds. Each execution is billed as if alone on its instance; executions overlapping on
    one instance share its billed period, so under concurrent load the GB-seconds are an upper
    bound. Milliseconds measured on this machine are not Azure's, but most executions here are
    far below the 1,000 ms minimum, which sets their bill. The monthly free grant
    (``flex_free_*``, :meth:`Prices.free_grant`) is listed but not subtracted, as the other
    clouds' free tiers are not: the figures are marginal prices. Per-function keys
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

    source_date: str = "2026-12-07"
    region: str = "eastus"
    source: str = (
        "https://azure.microsoft.com/pricing/details/cosmos-db/serverless/ and .../autoscale-provisioned/ "
        "(standard provisioned throughput, single region); https://azure.microsoft.com/pricing/details/storage/blobs/ "
        "(Hot, LRS, GPv2); https://azure.microsoft.com/pricing/details/storage/queues/ (LRS, GPv2); "
        "https://azure.microsoft.com/pricing/details/functions/ (Flex Consumption, on demand)"
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
    #: Azure Functions Flex Consumption, on demand execution time, per GB-second of instance memory.
    #: Checked against a third-party page only: https://modal.com/blog/azure-function-pricing-guide
    #: (2025-05-22, "Flex Consumption ... Execution Time: $0.000026 per GB-second"); Azure's pricing
    #: page (https://azure.microsoft.com/pricing/details/functions/) renders the figure in the
    #: browser, and Microsoft Learn's billing pages defer to it.
    flex_on_demand_per_gb_second: float = 0.000026
    #: Flex Consumption, on demand, per million executions. Not confirmed: no page at hand states it
    #: (Microsoft Learn says executions are billed, not at what price; the third-party pages at hand
    #: state only the execution-time rate and the free grant). Check it against
    #: https://azure.microsoft.com/pricing/details/functions/ before relying on it.
    flex_per_million_executions: float = 0.40
    #: Flex Consumption's monthly free grant per subscription, on demand only (listed, not
    #: subtracted: :meth:`free_grant`). Microsoft Learn confirms there is one, "a free grant of GB-s
    #: per month" and "of executions" (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#billing),
    #: not its size; the size is checked against a third-party page only:
    #: https://go2share.net/article/azure-function-flex-consumption ("250,000 executions and
    #: 100,000 GB-s of resource consumption per month").
    flex_free_executions: float = 250_000
    flex_free_gb_seconds: float = 100_000
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

    def free_grant(self) -> Units:
        """The Flex Consumption plan's monthly free grant, as units priced by this table."""
        return Units(function_executions=self.flex_free_executions, function_gb_seconds=self.flex_free_gb_seconds)

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
            "functions": self.function_executions * prices.flex_per_million_executions / 1e6,
            "functions_duration": self.function_gb_seconds * prices.flex_on_demand_per_gb_second,
        }


_BLOB_WRITES = frozenset(
    {"PutBlob", "PutBlock", "PutBlockList", "AppendBlock", "CopyBlob", "ListBlobs", "ListContainers", "CreateContainer"}
)
_BLOB_FREE = frozenset({"DeleteBlob", "DeleteContainer"})
_QUEUE_CLASS2 = frozenset(
    {"GetMessages.empty", "PeekMessages", "GetQueueMetadata", "GetQueueACL", "QueueServiceProperties"}
)


def billable_units(counts: Mapping[tuple[str, str], float], *, instance_memory_mb: int) -> Units:
    """The billable units of metering counters (see the module's assumptions), for functions on
    Flex Consumption instances of ``instance_memory_mb`` MB."""
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
        function_gb_seconds=ms / 1000 * instance_memory_mb / GB,
    )
