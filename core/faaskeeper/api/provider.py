"""What a provider plugin supplies: a deployment's parts, its lifecycle and its capabilities."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, Generic, NotRequired, Protocol, TypedDict

from typing_extensions import TypeVar

from faaskeeper.api.channel import ChannelListener, ChannelSender
from faaskeeper.api.queue import Queue
from faaskeeper.api.storage import SystemStorage, UserStorage
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException

if TYPE_CHECKING:
    from faaskeeper.api.cost import CostModel
    from faaskeeper.protocol.settings import FaultHook, StorageFault


class Capability(StrEnum):
    """What a provider declares it can do; the conformance suite skips tests by these."""

    #: Queues implement :class:`~faaskeeper.api.queue.PollingQueue` (receive, ack, release), so
    #: that the conformance suite can run the functions by hand over them (or, where a provider's
    #: queues are not PollingQueues, its tests supply polling views of them and its functions
    #: around the core's: ``faaskeeper.testing.support.FunctionTriggers``).
    POLLING_QUEUES = "polling-queues"
    #: Several OS processes on one machine can share one deployment.
    MULTI_PROCESS = "multi-process"
    #: Acknowledged writes survive kill -9 of every process.
    DURABLE = "durable"


class Reporter(Protocol):
    """Where a provider tells the steps of a long deploy, remove or status while it runs them.

    Providers report; they never print. ``fk`` shows the steps as progress.
    """

    def step(self, description: str) -> None:
        """A step begins (``"creating stack faaskeeper-dev"``); the step before it, if any, is done."""


class SilentReporter:
    """Takes every step and shows none: the default when nobody watches."""

    def step(self, description: str) -> None:
        pass


SILENT = SilentReporter()


class ResourceStatus(TypedDict):
    """One cloud resource (or file) of a deployment."""

    kind: str
    name: str
    #: As the platform says it: ``CREATE_COMPLETE``, ``present, 96 KiB``.
    state: str


class QueueStatus(TypedDict):
    """Depth of one of the deployment's queues; a count the platform does not tell is None (a
    Pub/Sub push subscription's backlog is known only to Cloud Monitoring)."""

    name: str
    #: Messages that a function may take now.
    waiting: int | None
    #: Messages a function took and has not finished.
    in_flight: int | None
    dead_letters: int | None


class DeploymentStatus(TypedDict):
    """What ``fk status`` shows of a deployment; every key but ``provider`` and ``deployed`` is
    left out when it is not known (a deployment that does not exist has no nodes)."""

    provider: str
    deployed: bool
    deployment: NotRequired[str]
    resources: NotRequired[list[ResourceStatus]]
    #: Live sessions.
    sessions: NotRequired[int]
    nodes: NotRequired[int]
    watches: NotRequired[int]
    queues: NotRequired[list[QueueStatus]]
    #: Anything else worth showing, by a human-readable label.
    details: NotRequired[dict[str, str]]


class FunctionHost(ABC):
    """Runs the writer and distributor functions inside the client's process.

    Providers whose platform triggers functions itself (a cloud) have none.
    """

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def wake(self) -> None:
        """A message was just sent: look at the queues now."""

    @abstractmethod
    def stop(self) -> None: ...


SystemT = TypeVar("SystemT", bound=SystemStorage, covariant=True, default=SystemStorage)
UserT = TypeVar("UserT", bound=UserStorage, covariant=True, default=UserStorage)
WriterQueueT = TypeVar("WriterQueueT", bound=Queue, covariant=True, default=Queue)
DistributorQueueT = TypeVar("DistributorQueueT", bound=Queue, covariant=True, default=Queue)


class Deployment(Generic[SystemT, UserT, WriterQueueT, DistributorQueueT], ABC):
    """One deployment's parts, opened from a client config: the config, its system and user
    storage, its writer and distributor queues and its client channel.

    A provider builds the parts and hands them to this constructor; it overrides only what its
    platform does differently (the listener, a function host, diagnostics, closing). It names
    the types of its parts (``Deployment[LocalSystemStorage, ...]``) so that its own code sees
    them; everyone else sees the interfaces (a bare ``Deployment``).
    """

    def __init__(
        self,
        config: Config,
        *,
        system_storage: SystemT,
        user_storage: UserT,
        writer_queue: WriterQueueT,
        distributor_queue: DistributorQueueT,
        channel: ChannelSender,
    ) -> None:
        self.config = config
        self._system_storage = system_storage
        self._user_storage = user_storage
        self._writer_queue = writer_queue
        self._distributor_queue = distributor_queue
        self._channel = channel

    @property
    def system_storage(self) -> SystemT:
        return self._system_storage

    @property
    def user_storage(self) -> UserT:
        return self._user_storage

    @property
    def writer_queue(self) -> WriterQueueT:
        """The queue clients send their requests to."""
        return self._writer_queue

    @property
    def distributor_queue(self) -> DistributorQueueT:
        return self._distributor_queue

    @property
    def channel(self) -> ChannelSender:
        """The server side of the client channel: how functions reach clients."""
        return self._channel

    @abstractmethod
    def listener(self, port: int = -1) -> ChannelListener:
        """A client-side listener for this deployment's client channel."""

    def function_host(self) -> FunctionHost | None:
        """The in-process function host, where this provider runs functions in client processes."""
        return None

    def txn_formatter(self) -> Callable[[int], str]:
        """How ``fk`` shows this deployment's transaction ids (zxids): compact, and in the order of
        the ids, each shown as itself. The ids themselves stay as stored. Default: the number."""
        return str

    def diagnose_stalled_write(self) -> str | None:
        """Why a write sent to this deployment got no answer within the client's timeout, if the
        provider can tell (``"no function took the request from the writer queue: start ..."``);
        None if it cannot. Called only after such a timeout, so it may make a few requests."""
        return None

    def on_failure(self, listener: Callable[[ProviderException], None]) -> None:
        """Have ``listener`` told, from another thread, when the calls in flight can no longer
        complete: the deployment was removed, replaced or damaged (a DeploymentUnusableException,
        after which every call fails), or its storage is full (later calls may succeed). A client
        fails its calls in flight with that error. Providers that cannot tell never call it."""

    def close(self) -> None:
        """Release connections."""


class Provider(ABC):
    """A FaaSKeeper provider: registered by a plugin through ``faaskeeper_register_providers``."""

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def validate_config(self, config: Config) -> None:  # noqa: B027 - optional hook
        """Raise ConfigurationException naming the key if the provider section is unusable."""

    def config_keys(self) -> frozenset[str] | None:
        """The keys its config section (``"local": {...}``) may hold, so that others can be reported
        as likely typos; None (the default) if the provider does not say."""
        return None

    def max_data_size(self, config: Config) -> int:
        """The largest node data this provider's deployment stores (``max-data-size`` by default)."""
        return config.max_data_size

    def max_commit_writes(self, config: Config) -> int | None:
        """The most items one commit may write in this provider's system storage, which bounds a
        transaction: at most this many operations, and a commit of at most this many writes,
        counted as :func:`faaskeeper.protocol.writer.commit_writes` does (one per node it locks,
        one per session whose ephemeral nodes it creates or deletes). None (the default): no
        limit. A client refuses a larger transaction before sending it; the writer dead-letters
        a message with more operations and refuses a commit with more writes."""
        return None

    @abstractmethod
    def open(self, config: Config) -> Deployment:
        """Connect to an existing deployment, which only ``deploy`` creates.

        A provider that can tell at once that the deployment does not exist raises
        :class:`~faaskeeper.exceptions.DeploymentNotFoundException`, saying how to deploy it.
        """

    @abstractmethod
    def deploy(self, config: Config, *, clean: bool = False, reporter: Reporter = SILENT) -> Config:
        """Create (or, with ``clean``, recreate) the deployment; return the config clients load.

        Each step that may take a while is reported to ``reporter`` as it begins.
        """

    def deploy_functions(self, config: Config, *, reporter: Reporter = SILENT) -> bool:
        """Update only the functions' code of an existing deployment; False if there is nothing
        to update (the functions run from the installed package)."""
        return False

    @abstractmethod
    def remove(self, config: Config, *, reporter: Reporter = SILENT) -> None:
        """Delete the deployment and everything it holds."""

    def inject_faults(self, faults: FaultHook | None, writer_storage: StorageFault | None = None) -> bool:
        """Have the functions this process hosts, in the deployments it opens from now on, call
        ``faults`` at each fault point, and their writers see system storage through
        ``writer_storage`` (a deliberately broken build, :mod:`faaskeeper.check.broken`); None takes
        either away. For fault injection and checking only. False (the default) if this provider
        hosts no functions in client processes: its functions then run as deployed."""
        return False

    def cost_model(self, config: Config) -> CostModel | None:
        """How ``fk cost`` measures and prices ``config``'s deployment; None if this provider is not priced."""
        return None

    def status(self, config: Config, *, reporter: Reporter = SILENT) -> DeploymentStatus:
        """Resources, live sessions, node count and queue depths of a deployment."""
        deployment = self.open(config)
        try:
            storage = deployment.system_storage
            return {
                "provider": self.name,
                "deployed": True,
                "deployment": config.deployment_name,
                "nodes": storage.count_nodes(),
                "sessions": sum(1 for s in storage.list_sessions() if s.status == "active"),
                "watches": storage.count_watches(),
            }
        finally:
            deployment.close()
