"""Google Cloud list prices, and the billable units of the requests :mod:`faaskeeper_gcp.cost.metering` counts.

:class:`Prices` holds public on-demand list prices for us-east1 as published on Google's pricing
pages (``source``), copied by hand on ``source_date``; ``fk cost --prices FILE`` overrides any of
them from a JSON object whose keys are the field names (``"firestore_write_per_100k": 0.18``
for a multi-region database). Free tiers (Firestore's daily quota, Pub/Sub's first 10 GiB, Cloud
Run's monthly allowance, Cloud Scheduler's 3 jobs per billing account) are ignored.

The same table holds Compute Engine on-demand prices per machine type (``vm_hourly``) and
balanced persistent disk per GB-month, for the ZooKeeper ensemble ``fk cost`` compares with.

:func:`billable_units` turns metering counters (``(service, unit)`` -> count) into :class:`Units`:

Firestore (Standard edition, a regional database)
    ``reads``, ``writes``, ``deletes``: documents, as Firestore bills them (a query bills one read
    per document returned, at least one; a missing document read bills one). ``requests`` are not
    billed.
Pub/Sub
    ``bytes`` (published) and ``delivered bytes`` (pushed to the functions): throughput, each
    publish and each push request billed at least 1000 bytes.
Cloud Functions (2nd gen, billed as Cloud Run functions, request-based)
    ``("functions", "invocations")``: one request each; ``("functions", "ms")``: billed
    milliseconds (rounded up to 100 ms per invocation), times the function's memory in GiB-seconds
    and its vCPUs in vCPU-seconds. Milliseconds measured on this machine are not the cloud's:
    treat duration as indicative only. Per-function keys (``functions:<name>``) repeat the totals.
Cloud Scheduler
    ``scheduler_job_months``: the heartbeat's job, billed per month whether or not it runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from faaskeeper.pricing import PriceTableMethods, UnitsMethods

#: Compute Engine on-demand Linux list prices in us-east1, USD per hour (as of ``Prices.source_date``).
VM_HOURLY: dict[str, float] = {
    "e2-micro": 0.008376,
    "e2-small": 0.016751,
    "e2-medium": 0.033503,
    "e2-standard-2": 0.067006,
    "e2-standard-4": 0.134012,
    "n1-standard-1": 0.04749975,
    "n2-standard-2": 0.097118,
    "n2d-standard-2": 0.084492,
    "t2d-standard-1": 0.042246,
}
TIB = 1024**4


@dataclass(frozen=True)
class Prices(PriceTableMethods):
    """USD list prices, us-east1, on-demand, first tier, in the units Google publishes them."""

    cloud: ClassVar[str] = "GCP"
    disk_kind: ClassVar[str] = "pd-balanced"
    idle_label: ClassVar[str] = "Cloud Scheduler job (the heartbeat's)"
    requests_total_label: ClassVar[str] = "total (function requests, not duration)"
    duration_total_label: ClassVar[str] = "total with locally measured function duration"

    source_date: str = "2025-06-01"
    region: str = "us-east1"
    source: str = (
        "https://cloud.google.com/firestore/pricing (Standard edition, us-east1); "
        "https://cloud.google.com/pubsub/pricing; https://cloud.google.com/run/pricing (Tier 1, request-based "
        "billing; Cloud Functions 2nd gen are billed as Cloud Run functions); "
        "https://cloud.google.com/scheduler/pricing"
    )
    #: Firestore, per 100,000 documents read, written and deleted.
    firestore_read_per_100k: float = 0.03
    firestore_write_per_100k: float = 0.09
    firestore_delete_per_100k: float = 0.01
    #: Pub/Sub throughput (publish and delivery), per TiB.
    pubsub_per_tib: float = 40.0
    #: Cloud Run functions: per million requests, per vCPU-second and per GiB-second of instance time.
    functions_per_million_requests: float = 0.40
    functions_per_vcpu_second: float = 0.000024
    functions_per_gib_second: float = 0.0000025
    #: Cloud Scheduler, per job per month.
    scheduler_per_job_month: float = 0.10
    #: Compute Engine on-demand Linux, USD per hour, by machine type: the VMs of a ZooKeeper ensemble.
    vm_hourly: Mapping[str, float] = field(default_factory=lambda: dict(VM_HOURLY))
    #: Balanced persistent disk, USD per GB-month: each VM's boot disk (Compute Engine's default kind).
    pd_balanced_per_gb_month: float = 0.10
    vm_source: str = (
        "https://cloud.google.com/compute/vm-instance-pricing (Linux, us-east1; no sustained-use discount); "
        "https://cloud.google.com/compute/disks-image-pricing"
    )

    @property
    def disk_per_gb_month(self) -> float:
        return self.pd_balanced_per_gb_month

    def idle_units(self, clients: int, queue_channel: bool) -> Units:
        """A month at rest: the heartbeat's scheduler job. Push subscriptions and TCP clients poll nothing."""
        return Units(scheduler_job_months=1)


@dataclass(frozen=True)
class Units(UnitsMethods):
    """Billable units of some requests (floats: they are often averages)."""

    duration_cost: ClassVar[str] = "functions_duration"

    firestore_reads: float = 0.0
    firestore_writes: float = 0.0
    firestore_deletes: float = 0.0
    pubsub_bytes: float = 0.0
    function_requests: float = 0.0
    function_gib_seconds: float = 0.0
    function_vcpu_seconds: float = 0.0
    scheduler_job_months: float = 0.0

    def costs(self, prices: Prices) -> dict[str, float]:
        """USD per service (``firestore``, ``pubsub``, ``functions``, ``functions_duration``, ``scheduler``)."""
        return {
            "firestore": (
                self.firestore_reads * prices.firestore_read_per_100k
                + self.firestore_writes * prices.firestore_write_per_100k
                + self.firestore_deletes * prices.firestore_delete_per_100k
            )
            / 1e5,
            "pubsub": self.pubsub_bytes * prices.pubsub_per_tib / TIB,
            "functions": self.function_requests * prices.functions_per_million_requests / 1e6,
            "functions_duration": self.function_gib_seconds * prices.functions_per_gib_second
            + self.function_vcpu_seconds * prices.functions_per_vcpu_second,
            "scheduler": self.scheduler_job_months * prices.scheduler_per_job_month,
        }


_FIRESTORE = {"reads": "firestore_reads", "writes": "firestore_writes", "deletes": "firestore_deletes"}
_PUBSUB_BYTES = {"bytes", "delivered bytes"}


def billable_units(counts: Mapping[tuple[str, str], float], *, memory_mb: int = 512, vcpus: float = 0.333) -> Units:
    """The billable units of metering counters (see the module's assumptions), for functions of
    ``memory_mb`` MiB with ``vcpus`` vCPUs."""
    found = dict.fromkeys(_FIRESTORE.values(), 0.0)
    pubsub = invocations = ms = 0.0
    for (service, unit), n in counts.items():
        if service == "firestore" and unit in _FIRESTORE:
            found[_FIRESTORE[unit]] += n
        elif service == "pubsub" and unit in _PUBSUB_BYTES:
            pubsub += n
        elif service == "functions":
            if unit == "invocations":
                invocations += n
            elif unit == "ms":
                ms += n
    seconds = ms / 1000
    return Units(
        **found,
        pubsub_bytes=pubsub,
        function_requests=invocations,
        function_gib_seconds=seconds * memory_mb / 1024,
        function_vcpu_seconds=seconds * vcpus,
    )
