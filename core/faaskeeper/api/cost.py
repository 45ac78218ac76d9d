"""What ``fk cost`` and ``fk bench`` need from a provider to measure a deployment and price it.

A provider that can be priced returns a :class:`CostModel` from
:meth:`~faaskeeper.api.provider.Provider.cost_model`. The model measures the billable requests of
each operation (and of one heartbeat run) on a deployment, with the deployment's functions run in
the measuring process where its cloud is emulated (the loops that drive a client through the
operations are in :mod:`faaskeeper.measure`), and turns the counters its meter keeps
(``(service, unit) -> count``, :mod:`faaskeeper.metering`) into :class:`Units` priced by its
:class:`PriceTable`. Everything cloud-specific (which counters bill what, the list prices, the
VMs of the ZooKeeper ensemble compared with, the words of the report) comes from here;
``fk cost`` only does the arithmetic and prints.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.metering import Key

#: The operations measured, in the order they run (the creates make the nodes the deletes remove).
OPERATIONS: tuple[str, ...] = ("create", "set_data", "get_data", "exists", "get_children", "delete")
#: Operations sent through the writer and the distributor.
WRITES = frozenset({"create", "set_data", "delete"})


@dataclass(frozen=True)
class Measurement:
    """Per operation, the requests of one call, averaged over ``repetitions`` calls."""

    repetitions: int
    size: int
    requests: dict[str, dict[Key, float]]


@dataclass(frozen=True)
class LoadMeasurement:
    """What ``clients`` concurrent sessions billed issuing reads and writes at ``rate`` a second.

    ``requests``: per operation that ran, the requests of one call: the meter's counters over the
    run divided by the calls that completed (a read's are those its storage reads made; everything
    else, the functions' included, is the writes'). ``batches``: per function, how many
    invocations were handed how many messages."""

    clients: int
    rate: float
    seconds: float
    read_share: float
    size: int
    #: Seconds from the first call to the last call's return.
    elapsed: float
    issued: dict[str, int]
    completed: dict[str, int]
    #: The first few errors of the calls that failed (a failed call's requests are counted too).
    errors: list[str]
    requests: dict[str, dict[Key, float]]
    batches: dict[str, dict[int, int]]

    @property
    def achieved_rate(self) -> float:
        """Calls a second actually issued."""
        return sum(self.issued.values()) / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class HeartbeatMeasurement:
    """Requests of one heartbeat run: those of any run, and those of each session it pings."""

    fixed: dict[Key, float]
    per_session: dict[Key, float]
    sessions: tuple[int, int]


class Units(Protocol):
    """Billable units of some requests: a frozen dataclass whose fields are all floats, so that
    ``fk cost`` can scale and add them field by field."""

    def cost(self, prices: Any, *, duration: bool = True) -> float:
        """USD of these units at ``prices``; without the functions' duration if ``duration`` is false."""
        ...

    def to_dict(self) -> dict[str, float]: ...


class PriceTable(Protocol):
    """A cloud's list prices and the billing rules that are not per request."""

    @property
    def cloud(self) -> str:
        """The cloud's name in reports ("AWS")."""
        ...

    @property
    def region(self) -> str: ...

    @property
    def source_date(self) -> str:
        """When the prices were copied from the cloud's pricing pages."""
        ...

    @property
    def disk_kind(self) -> str:
        """The kind of each ensemble VM's disk ("gp3")."""
        ...

    @property
    def idle_label(self) -> str:
        """What :meth:`idle_units` is, in the monthly report ("idle SQS long polls (estimate)")."""
        ...

    @property
    def requests_total_label(self) -> str:
        """The serverless total of requests only, in the monthly report."""
        ...

    @property
    def duration_total_label(self) -> str:
        """The serverless total with the functions' measured duration, in the monthly report."""
        ...

    def to_dict(self) -> dict[str, Any]: ...

    def vm_per_hour(self, instance: str) -> float:
        """USD an hour of an instance type; ConfigurationException naming the known ones."""
        ...

    @property
    def disk_per_gb_month(self) -> float: ...

    def idle_units(self, clients: int, queue_channel: bool) -> Units:
        """What a deployment bills in a month whatever its load (pollers, schedules), with
        ``clients`` sessions open (each with its own queue if ``queue_channel``)."""
        ...


class CostModel(ABC):
    """How ``fk cost`` measures and prices the deployment that ``config`` describes."""

    #: Columns of the per-operation table: (heading, field of the provider's Units).
    columns: ClassVar[tuple[tuple[str, str], ...]]
    #: The ensemble's VM type and disk size when ``fk cost`` is given none.
    default_vm: ClassVar[str]
    default_disk_gb: ClassVar[float]
    #: The heading of the requests listed per operation.
    requests_heading: ClassVar[str] = "Requests per operation (client and functions), averaged:"
    #: Where the functions run in the real cloud ("Lambda").
    functions_platform: ClassVar[str]
    #: Why ``fk cost`` refuses a deployment that is not on an emulator, and how to go on.
    real_cloud_refusal: ClassVar[str]

    def __init__(self, config: Config) -> None:
        self.config = config

    @abstractmethod
    def prices(self, path: str | None = None) -> PriceTable:
        """The default list prices, with those of the JSON object at ``path`` replacing them."""

    @abstractmethod
    def emulated(self) -> bool:
        """Whether the deployment is on an emulated cloud, where the measurement runs its functions."""

    @abstractmethod
    def measure_operations(self, *, repetitions: int, size: int) -> Measurement:
        """The requests of each operation of :data:`OPERATIONS`, averaged over
        ``repetitions`` calls with ``size`` bytes of data; creates and removes its own nodes."""

    def measure_load(
        self, *, clients: int, rate: float, seconds: float, read_share: float, size: int
    ) -> LoadMeasurement:
        """``clients`` sessions issuing get_data (``read_share`` of the calls) and set_data on nodes of
        ``size`` bytes, ``rate`` calls a second in all for ``seconds``, the functions running
        meanwhile (:func:`faaskeeper.measure.measure_load`)."""
        raise ConfigurationException(
            f"fk cost --rate: provider {self.config.cloud_provider!r} cannot measure its requests under load"
        )

    @abstractmethod
    def measure_heartbeat(self) -> HeartbeatMeasurement | None:
        """The requests of one heartbeat run, fixed and per session; None where they cannot be
        counted (the functions run in the real cloud)."""

    @abstractmethod
    def units(self, counts: Mapping[Key, float]) -> Units:
        """The billable units of some counters of the provider's meter."""

    def references(self) -> list[tuple[str, Units]]:
        """Rows priced beside the measured operations, e.g. the upstream FaaSKeeper's write."""
        return []

    @abstractmethod
    def heartbeat_minutes(self) -> float:
        """Minutes between the deployment's heartbeat runs (its schedule)."""

    @abstractmethod
    def describe(self, prices: PriceTable) -> str:
        """The prices and function sizes the report is made with, for its first line."""

    @abstractmethod
    def notes(self) -> list[str]:
        """Paragraphs printed under the table: what the columns include and leave out."""

    def settings(self) -> dict[str, Any]:
        """Deployment settings the prices depend on, for the JSON report (e.g. function memory)."""
        return {}

    def bench_functions(self) -> AbstractContextManager[dict[str, Any]]:
        """Run the deployment's functions while ``fk bench`` measures it, if nothing else will (an
        emulated cloud); what was started, for the bench's description."""
        return _nothing()


@contextmanager
def _nothing() -> Iterator[dict[str, Any]]:
    yield {}
