"""The monthly cost of a described workload on FaaSKeeper, against a ZooKeeper ensemble of VMs.

Arithmetic only, for any provider: the billable units of one read, one write and one heartbeat
run come from ``fk cost``'s measurement (the provider's :class:`~faaskeeper.api.cost.CostModel`),
the prices and the billing rules that are not per request from its
:class:`~faaskeeper.api.cost.PriceTable`. A month is 730 hours.

FaaSKeeper's month is

* reads: ``requests_per_day * read_share`` get_data calls a day;
* writes: the rest, set_data calls;
* heartbeats: one run of the heartbeat function per ``heartbeat_minutes`` (the platform's
  schedule), each pinging every client's session: ``fixed + per_session * clients`` units per run;
* at rest: what the deployment bills whatever the load (``PriceTable.idle_units``: on AWS the
  long polls of Lambda's SQS pollers and of the clients' queues, on GCP the scheduler job).

Storage and data transfer are left out: for coordination data they are cents. The functions'
duration is left out of the totals too: an emulator's milliseconds are not the cloud's
(``with_duration`` gives the figure including them).

The ensemble's month is ``vms`` on-demand instances for 730 hours and a disk each. The
break-even point is the requests a day at which both months cost the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar, cast

from faaskeeper.api.cost import PriceTable, Units
from faaskeeper.exceptions import ConfigurationException

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600

U = TypeVar("U", bound=Units)


def scaled(units: U, factor: float) -> U:
    """``units`` times ``factor``, field by field."""
    data: Any = units
    return cast(U, replace(data, **{f.name: getattr(data, f.name) * factor for f in fields(data)}))


def total(parts: Sequence[U]) -> U:
    """The sum of ``parts`` (at least one, all of one type), field by field."""
    data: list[Any] = list(parts)
    return cast(U, replace(data[0], **{f.name: sum(getattr(p, f.name) for p in data) for f in fields(data[0])}))


@dataclass(frozen=True)
class Workload:
    """What a user runs: requests a day, the share of them that are reads, and the clients."""

    requests_per_day: float
    read_share: float = 0.9
    node_size: int = 100
    clients: int = 1
    heartbeat_minutes: float = 1.0
    queue_channel: bool = False

    def __post_init__(self) -> None:
        if self.requests_per_day < 0:
            raise ConfigurationException(f"requests per day must be at least 0, got {self.requests_per_day:g}")
        if not 0 <= self.read_share <= 1:
            raise ConfigurationException(f"the read share must be from 0 to 1, got {self.read_share:g}")
        if self.clients < 0:
            raise ConfigurationException(f"clients must be at least 0, got {self.clients}")
        if self.heartbeat_minutes <= 0:
            raise ConfigurationException(f"heartbeat minutes must be above 0, got {self.heartbeat_minutes:g}")


@dataclass(frozen=True)
class Ensemble:
    """A ZooKeeper ensemble: ``vms`` instances of one type, each with a ``disk_gb`` disk."""

    instance: str = "t3.small"
    vms: int = 3
    disk_gb: float = 8.0

    def monthly(self, prices: PriceTable) -> tuple[float, float]:
        """USD a month of the instances, and of their disks."""
        if self.vms < 1:
            raise ConfigurationException(f"an ensemble needs at least 1 VM, got {self.vms}")
        if self.disk_gb < 0:
            raise ConfigurationException(f"disk size must be at least 0 GB, got {self.disk_gb:g}")
        return (
            self.vms * prices.vm_per_hour(self.instance) * HOURS_PER_MONTH,
            self.vms * self.disk_gb * prices.disk_per_gb_month,
        )


@dataclass(frozen=True)
class Measured:
    """Billable units of one read, one write, and one heartbeat run (``fixed + per_session * sessions``)."""

    read: Units
    write: Units
    heartbeat_fixed: Units
    heartbeat_per_session: Units


@dataclass(frozen=True)
class MonthlyCost:
    """USD a month of each part of a workload on FaaSKeeper and on the ensemble, and where they meet."""

    reads: float
    writes: float
    heartbeats: float
    #: At rest, whatever the load (``PriceTable.idle_units``).
    idle_polling: float
    serverless: float
    with_duration: float
    vms: float
    disks: float
    ensemble: float
    #: USD of one request at the workload's read share (reads and writes only).
    per_request: float
    #: Requests a day at which FaaSKeeper costs as much as the ensemble; None if it never does.
    break_even_per_day: float | None

    @property
    def ratio(self) -> float:
        """Ensemble / FaaSKeeper: how many times cheaper FaaSKeeper is (below 1: dearer)."""
        return self.ensemble / self.serverless if self.serverless else float("inf")


def monthly_cost(workload: Workload, measured: Measured, ensemble: Ensemble, prices: PriceTable) -> MonthlyCost:
    """The month of ``workload`` on FaaSKeeper (from ``measured`` units) and on ``ensemble``."""
    reads_per_month = workload.requests_per_day * workload.read_share * DAYS_PER_MONTH
    writes_per_month = workload.requests_per_day * (1 - workload.read_share) * DAYS_PER_MONTH
    runs = HOURS_PER_MONTH * 60 / workload.heartbeat_minutes
    per_run = total([measured.heartbeat_fixed, scaled(measured.heartbeat_per_session, workload.clients)])
    parts = {
        "reads": scaled(measured.read, reads_per_month),
        "writes": scaled(measured.write, writes_per_month),
        "heartbeats": scaled(per_run, runs),
        "idle_polling": prices.idle_units(workload.clients, workload.queue_channel),
    }
    costs = {name: units.cost(prices, duration=False) for name, units in parts.items()}
    serverless = sum(costs.values())
    with_duration = sum(units.cost(prices) for units in parts.values())
    vms, disks = ensemble.monthly(prices)
    per_request = workload.read_share * measured.read.cost(prices, duration=False) + (
        1 - workload.read_share
    ) * measured.write.cost(prices, duration=False)
    fixed = costs["heartbeats"] + costs["idle_polling"]
    break_even: float | None = None
    if per_request > 0 and vms + disks > fixed:
        break_even = (vms + disks - fixed) / (per_request * DAYS_PER_MONTH)
    return MonthlyCost(
        reads=costs["reads"],
        writes=costs["writes"],
        heartbeats=costs["heartbeats"],
        idle_polling=costs["idle_polling"],
        serverless=serverless,
        with_duration=with_duration,
        vms=vms,
        disks=disks,
        ensemble=vms + disks,
        per_request=per_request,
        break_even_per_day=break_even,
    )


def render_monthly(workload: Workload, ensemble: Ensemble, cost: MonthlyCost, prices: PriceTable) -> str:
    """The workload, both months side by side, and the break-even point."""
    vm_hour = prices.vm_per_hour(ensemble.instance)
    channel = ", a queue channel each" if workload.queue_channel else ""
    lines = [
        f"Workload: {workload.requests_per_day:,.0f} requests a day, {workload.read_share:.0%} reads (get_data) and "
        f"{1 - workload.read_share:.0%} writes (set_data) of {workload.node_size} B nodes; {workload.clients} "
        f"clients{channel}, a heartbeat run every {workload.heartbeat_minutes:g} min. A month is 730 h.",
        "",
        f"  {f'FaaSKeeper on {prices.cloud}':<44}{'USD/month':>12}",
        f"  {'reads':<44}{cost.reads:>12.2f}",
        f"  {'writes':<44}{cost.writes:>12.2f}",
        f"  {'heartbeats':<44}{cost.heartbeats:>12.2f}",
        f"  {prices.idle_label:<44}{cost.idle_polling:>12.2f}",
        f"  {prices.requests_total_label:<44}{cost.serverless:>12.2f}",
        f"  {prices.duration_total_label:<44}{cost.with_duration:>12.2f}",
        "",
        f"  {f'ZooKeeper: {ensemble.vms} x {ensemble.instance} (${vm_hour:g}/h)':<44}{cost.vms:>12.2f}",
        f"  {f'disks: {ensemble.vms} x {ensemble.disk_gb:g} GB {prices.disk_kind}':<44}{cost.disks:>12.2f}",
        f"  {'total':<44}{cost.ensemble:>12.2f}",
        "",
    ]
    if cost.serverless < cost.ensemble:
        lines.append(f"FaaSKeeper costs {cost.ratio:.2f}x less than the ensemble for this workload.")
    elif cost.ensemble > 0:
        lines.append(
            f"FaaSKeeper costs {cost.serverless / cost.ensemble:.2f}x more than the ensemble for this workload."
        )
    else:
        lines.append("The ensemble costs nothing at these prices.")
    if cost.break_even_per_day is None:
        lines.append("Break-even: none; the ensemble is cheaper at any load.")
    else:
        lines.append(
            f"Break-even: {cost.break_even_per_day:,.0f} requests a day ({cost.break_even_per_day / 86400:.1f}/s on "
            f"average) at this read share; above it the ensemble is cheaper."
        )
    lines.append(
        f"Prices: {prices.region} public list prices as of {prices.source_date}, copied by hand from the "
        f"{prices.cloud} pricing pages (--json lists them): check them before relying on these figures; "
        "--prices FILE replaces any."
    )
    return "\n".join(lines)
