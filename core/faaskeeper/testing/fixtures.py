"""The fixtures every suite class shares, derived from the two a provider's tests supply.

A provider's tests define ``provider`` (a :class:`~faaskeeper.api.provider.Provider`) and
``fk_config`` (a :class:`~faaskeeper.config.Config` of a fresh, deployed, empty deployment),
usually in ``conftest.py``. Everything else is derived here, on the suite classes, so that a
conftest fixture of the same name in the provider's project cannot change what the suite tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar, TypeVar

import pytest

from faaskeeper.api.channel import ChannelListener, ClientChannel
from faaskeeper.api.provider import Capability, Deployment, Provider
from faaskeeper.api.queue import PollingQueue, Queue
from faaskeeper.api.storage import SystemStorage, UserStorage
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.testing.support import Inbox, listeners

T = TypeVar("T")

_REQUIRES = "__faaskeeper_requires__"


def requires(*capabilities: Capability) -> Callable[[T], T]:
    """Run the decorated test, or every ``test_*`` method of the decorated class, only on
    providers that declare all of ``capabilities``; on others it is skipped."""

    def mark(obj: T) -> T:
        targets: list[object] = [obj]
        if isinstance(obj, type):
            targets = [v for k, v in vars(obj).items() if k.startswith("test") and callable(v)]
        for target in targets:
            setattr(target, _REQUIRES, getattr(target, _REQUIRES, frozenset()) | frozenset(capabilities))
        return obj

    return mark


def required_capabilities(test: object) -> frozenset[Capability]:
    """What ``@requires`` declared for a test function or method."""
    found: frozenset[Capability] = getattr(test, _REQUIRES, frozenset())
    return found


def _polling(queue: Queue, which: str) -> PollingQueue:
    if not isinstance(queue, PollingQueue):
        pytest.fail(
            f"the provider declares {Capability.POLLING_QUEUES} but its {which} queue "
            f"({type(queue).__name__}) is not a faaskeeper.api.queue.PollingQueue"
        )
    return queue


class ConformanceFixtures:
    """Base of every suite class: tunables as class attributes, derived fixtures as methods.

    Override a tunable in your test class (``client_timeout = 60.0``), not in a conftest.
    """

    #: Seconds a client operation (a session start included) may take before the test fails.
    client_timeout: ClassVar[float] = 10.0
    #: Seconds to wait for an effect that is asynchronous by contract (a delivery, a redelivery).
    settle_timeout: ClassVar[float] = 10.0

    @pytest.fixture(autouse=True)
    def _fk_capability_gate(self, request: pytest.FixtureRequest, provider: Provider) -> None:
        if not isinstance(provider, Provider):
            pytest.fail(f"the 'provider' fixture must return a faaskeeper Provider, got {type(provider).__name__}")
        missing = required_capabilities(request.function) - provider.capabilities
        if missing:
            names = ", ".join(sorted(str(c) for c in missing))
            pytest.skip(f"provider {provider.name!r} does not declare the capability {names}")

    @pytest.fixture
    def fk_checked_config(self, provider: Provider, fk_config: Config) -> Config:
        """``fk_config``, checked to name ``provider`` (the client finds its provider by that name)."""
        if not isinstance(fk_config, Config):
            pytest.fail(f"the 'fk_config' fixture must return a faaskeeper Config, got {type(fk_config).__name__}")
        if fk_config.cloud_provider != provider.name:
            pytest.fail(
                f"fk_config names the provider {fk_config.cloud_provider!r} but the 'provider' fixture "
                f"is {provider.name!r}; clients would test a different provider"
            )
        return fk_config

    @pytest.fixture
    def deployment(self, provider: Provider, fk_checked_config: Config) -> Iterator[Deployment]:
        opened = provider.open(fk_checked_config)
        try:
            yield opened
        finally:
            opened.close()

    @pytest.fixture
    def system_storage(self, deployment: Deployment) -> SystemStorage:
        return deployment.system_storage

    @pytest.fixture
    def user_storage(self, deployment: Deployment) -> UserStorage:
        return deployment.user_storage

    @pytest.fixture
    def writer_queue(self, deployment: Deployment) -> PollingQueue:
        """The writer queue as a PollingQueue (tests using it require POLLING_QUEUES)."""
        return _polling(deployment.writer_queue, "writer")

    @pytest.fixture
    def distributor_queue(self, deployment: Deployment) -> PollingQueue:
        """The distributor queue as a PollingQueue (tests using it require POLLING_QUEUES)."""
        return _polling(deployment.distributor_queue, "distributor")

    @pytest.fixture
    def channel(self, deployment: Deployment) -> ClientChannel:
        return deployment.channel

    @pytest.fixture
    def listen(self, deployment: Deployment) -> Iterator[Callable[[Inbox], ChannelListener]]:
        """``listen(inbox)`` starts a client-side listener delivering into ``inbox``; all are stopped after the test."""
        with listeners(deployment) as start:
            yield start

    @pytest.fixture
    def client_factory(self, fk_checked_config: Config) -> Iterator[Callable[[], FaaSKeeperClient]]:
        """``client_factory()`` starts a new client session; every session still open is stopped after the test."""
        clients: list[FaaSKeeperClient] = []

        def start() -> FaaSKeeperClient:
            client = FaaSKeeperClient(fk_checked_config, timeout=self.client_timeout)
            client.start()
            clients.append(client)
            return client

        yield start
        errors: list[BaseException] = []
        for client in clients:
            try:
                client.stop()
            except Exception as err:
                errors.append(err)
        if errors:
            raise errors[0]

    @pytest.fixture
    def client(self, client_factory: Callable[[], FaaSKeeperClient]) -> FaaSKeeperClient:
        return client_factory()
