"""AWS list prices, and the billable units of the requests :mod:`faaskeeper_aws.cost.metering` counts.

:class:`Prices` holds public on-demand list prices for us-east-1 as published on the AWS pricing
pages (``source_date``); ``Prices.load(path)`` overrides any of them from a JSON file whose keys
are the field names (``"dynamodb_write_per_million": 1.25``). Free tiers and volume discounts are
ignored: these are the first-tier prices.

The same table holds EC2 on-demand prices per instance type (``vm_hourly``, merged key by key
with the defaults when a file gives some) and EBS gp3 per GB-month, for the ZooKeeper ensemble
that ``fk cost`` compares a workload with. All of them are list prices copied by hand from the
pages in ``source`` and ``vm_source``: check them before relying on a figure.

:func:`billable_units` turns metering counters (``(service, Operation)`` -> count) into
:class:`Units`. What the counters cannot tell is assumed, so the units are those of small nodes:

DynamoDB (on-demand)
    * ``PutItem``, ``UpdateItem``, ``DeleteItem``: 1 write request unit (WRU) each, items up to
      1 KB. A conditional write refused by its condition is billed too, and is counted too.
    * ``TransactWriteItems``: 2 WRU per item (``TransactWriteItems.items``); ``BatchWriteItem``:
      1 WRU per item.
    * ``GetItem``, ``Query``, ``Scan``: 1 read request unit (RRU) each: strongly consistent (the
      provider always asks for it) and at most 4 KB read. ``BatchGetItem``: 1 RRU per item;
      ``TransactGetItems``: 2 RRU per item.
    * Anything else (``DescribeTable``...) is control plane and free.
S3 (Standard)
    * PUT class: ``PutObject``, ``CopyObject``, ``PostObject``, ``ListObjects(V2)``,
      ``ListBuckets``, ``CreateMultipartUpload``, ``UploadPart(Copy)``, ``CompleteMultipartUpload``.
    * Free: ``DeleteObject``, ``DeleteObjects``, ``AbortMultipartUpload``.
    * GET class: ``GetObject``, ``HeadObject`` and, as S3 bills them, all other requests.
    * Data transfer and storage are not counted (in-region transfer to Lambda is free).
SQS
    * Every API action counted is one request, batches included (a batch is one request): every
      payload is assumed to be at most 64 KB (a larger one is one request per 64 KB chunk).
    * Every queue of a deployment is FIFO (writer, distributor and client queues), so all SQS
      requests are priced at the FIFO rate.
Lambda (arm64, as the stack deploys the functions)
    * ``("lambda", "Invoke")``: one request each; ``("lambda", "Invoke.ms")``: billed
      milliseconds, times the function memory (``memory_mb``, the stack's ``function-memory``,
      default 512) in GB-seconds. Emulator milliseconds are not Lambda's: on AWS a function also
      pays for its cold starts and network round trips, so treat duration as indicative only.
    * The per-function keys (``lambda:<name>``) repeat the totals and are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from faaskeeper.pricing import PriceTableMethods, UnitsMethods

#: EC2 on-demand Linux list prices in us-east-1, USD per hour (as of ``Prices.source_date``).
VM_HOURLY: dict[str, float] = {
    "t3.nano": 0.0052,
    "t3.micro": 0.0104,
    "t3.small": 0.0208,
    "t3.medium": 0.0416,
    "t3.large": 0.0832,
    "t3.xlarge": 0.1664,
    "t4g.micro": 0.0084,
    "t4g.small": 0.0168,
    "t4g.medium": 0.0336,
    "t4g.large": 0.0672,
    "m5.large": 0.096,
    "m5.xlarge": 0.192,
    "m6i.large": 0.096,
    "m7g.large": 0.0816,
    "c5.large": 0.085,
    "r5.large": 0.126,
}

#: A month is AWS's 730 hours.
SECONDS_PER_MONTH = 730.0 * 3600
#: Lambda's pollers per SQS event source mapping at rest, and the seconds of each long poll.
POLLERS_PER_QUEUE = 5
LONG_POLL_SECONDS = 20
#: The queues a deployment's functions are triggered by (writer, distributor).
FUNCTION_QUEUES = 2


@dataclass(frozen=True)
class Prices(PriceTableMethods):
    """USD list prices, us-east-1, on-demand, first tier, in the units AWS publishes them."""

    cloud: ClassVar[str] = "AWS"
    disk_kind: ClassVar[str] = "gp3"
    idle_label: ClassVar[str] = "idle SQS long polls (estimate)"
    requests_total_label: ClassVar[str] = "total (Lambda requests, not duration)"
    duration_total_label: ClassVar[str] = "total with emulator-measured Lambda duration"

    source_date: str = "2025-01-15"
    region: str = "us-east-1"
    source: str = (
        "https://aws.amazon.com/dynamodb/pricing/on-demand/ (after the 2024-11-01 reduction); "
        "https://aws.amazon.com/s3/pricing/; https://aws.amazon.com/sqs/pricing/; "
        "https://aws.amazon.com/lambda/pricing/"
    )
    #: DynamoDB on-demand, per million write / read request units.
    dynamodb_write_per_million: float = 0.625
    dynamodb_read_per_million: float = 0.125
    #: S3 Standard, per 1,000 PUT/COPY/POST/LIST and per 1,000 GET/SELECT/other requests.
    s3_put_per_thousand: float = 0.005
    s3_get_per_thousand: float = 0.0004
    #: SQS FIFO, per million requests (each 64 KB chunk of a payload is a request).
    sqs_fifo_per_million: float = 0.50
    #: Lambda, per million requests and per GB-second on arm64.
    lambda_per_million_requests: float = 0.20
    lambda_per_gb_second: float = 0.0000133334
    #: EC2 on-demand Linux, USD per hour, by instance type: the VMs of a ZooKeeper ensemble.
    vm_hourly: Mapping[str, float] = field(default_factory=lambda: dict(VM_HOURLY))
    #: EBS gp3, USD per GB-month: each VM's disk.
    ebs_gp3_per_gb_month: float = 0.08
    vm_source: str = (
        "https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, us-east-1; t3/t4g in the default unlimited mode "
        "can add $0.05 per vCPU-hour of surplus credits); https://aws.amazon.com/ebs/pricing/"
    )

    @property
    def disk_per_gb_month(self) -> float:
        return self.ebs_gp3_per_gb_month

    def idle_units(self, clients: int, queue_channel: bool) -> Units:
        """The SQS long polls of a month at rest (:func:`idle_polling_requests`)."""
        return Units(sqs_requests=idle_polling_requests(clients, queue_channel))


def idle_polling_requests(clients: int, queue_channel: bool) -> float:
    """SQS requests a month that happen whatever the load: the functions' and the clients' long polls.

    Lambda's SQS pollers long-poll the writer and distributor queues whether or not anything
    arrives (:data:`POLLERS_PER_QUEUE` pollers, :data:`LONG_POLL_SECONDS` s polls: an estimate);
    with a queue client channel each client long-polls its own queue too."""
    pollers = FUNCTION_QUEUES * POLLERS_PER_QUEUE + (clients if queue_channel else 0)
    return pollers * SECONDS_PER_MONTH / LONG_POLL_SECONDS


@dataclass(frozen=True)
class Units(UnitsMethods):
    """Billable units of some requests (floats: they are often averages)."""

    duration_cost: ClassVar[str] = "lambda_duration"

    dynamodb_rru: float = 0.0
    dynamodb_wru: float = 0.0
    s3_put: float = 0.0
    s3_get: float = 0.0
    sqs_requests: float = 0.0
    lambda_requests: float = 0.0
    lambda_gb_seconds: float = 0.0

    def costs(self, prices: Prices) -> dict[str, float]:
        """USD per service (``dynamodb``, ``s3``, ``sqs``, ``lambda``, ``lambda_duration``)."""
        return {
            "dynamodb": self.dynamodb_rru * prices.dynamodb_read_per_million / 1e6
            + self.dynamodb_wru * prices.dynamodb_write_per_million / 1e6,
            "s3": self.s3_put * prices.s3_put_per_thousand / 1e3 + self.s3_get * prices.s3_get_per_thousand / 1e3,
            "sqs": self.sqs_requests * prices.sqs_fifo_per_million / 1e6,
            "lambda": self.lambda_requests * prices.lambda_per_million_requests / 1e6,
            "lambda_duration": self.lambda_gb_seconds * prices.lambda_per_gb_second,
        }


#: The upstream FaaSKeeper's requests per operation (its paper's cost model, S3 user storage).
UPSTREAM_WRITE = Units(dynamodb_rru=1, dynamodb_wru=3, s3_put=1, sqs_requests=2, lambda_requests=2)
UPSTREAM_READ = Units(s3_get=1)

_DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
_DYNAMODB_READS = {"GetItem", "Query", "Scan"}
#: Operations billed per item: the multiplier of their ``.items`` counter, and its unit.
_DYNAMODB_ITEMS = {
    "TransactWriteItems.items": ("wru", 2),
    "BatchWriteItem.items": ("wru", 1),
    "BatchGetItem.items": ("rru", 1),
    "TransactGetItems.items": ("rru", 2),
}
_S3_PUT = {
    "PutObject",
    "CopyObject",
    "PostObject",
    "ListObjects",
    "ListObjectsV2",
    "ListBuckets",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
}
_S3_FREE = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}


def billable_units(counts: Mapping[tuple[str, str], float], *, memory_mb: int = 512) -> Units:
    """The billable units of metering counters (see the module's assumptions)."""
    rru = wru = put = get = sqs = invokes = ms = 0.0
    for (service, operation), n in counts.items():
        if service == "dynamodb":
            if operation in _DYNAMODB_WRITES:
                wru += n
            elif operation in _DYNAMODB_READS:
                rru += n
            elif operation in _DYNAMODB_ITEMS:
                unit, factor = _DYNAMODB_ITEMS[operation]
                if unit == "wru":
                    wru += factor * n
                else:
                    rru += factor * n
        elif service == "s3":
            if operation.endswith(".items") or operation in _S3_FREE:
                continue
            if operation in _S3_PUT:
                put += n
            else:
                get += n
        elif service == "sqs":
            if not operation.endswith(".items"):
                sqs += n
        elif service == "lambda":
            if operation == "Invoke":
                invokes += n
            elif operation == "Invoke.ms":
                ms += n
    return Units(
        dynamodb_rru=rru,
        dynamodb_wru=wru,
        s3_put=put,
        s3_get=get,
        sqs_requests=sqs,
        lambda_requests=invokes,
        lambda_gb_seconds=ms / 1000 * memory_mb / 1024,
    )
