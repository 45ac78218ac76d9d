"""The fixtures every suite class shares, derived from the two a provider's tests supply.

A provider's tests define ``provider`` (a :class:`~faaskeeper.api.provider.Provider`) and
``fk_config`` (a :class:`~faaskeeper.config.Config` of a fresh, deployed, empty deployment),
usually in ``conftest.py``, and may define ``fk_expiry_config`` (the same, with short
``heartbeat-frequency`` and ``session-timeout``) for the tests that wait for sessions to time out.
Everything else is derived here, on the suite classes, so that a conftest fixture of the same name
in the provider's project cannot change what the suite tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import ClassVar, TypeVar

import pytest

from faaskeeper.api.channel import ChannelListener, ChannelSender
from faaskeeper.api.provider import Capability, Deployment, Provider
from faaskeeper.api.queue import PollingQueue, Queue
from faaskeeper.api.storage import SystemStorage, UserStorage
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.protocol.settings import FaultHook
from faaskeeper.testing.support import FunctionRig, FunctionTriggers, Inbox, listeners

T = TypeVar("T")

_REQUIRES = "__faaskeeper_requires__"
_ON_EXPIRY_CONFIG = "__faaskeeper_on_expiry_config__"


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


def on_expiry_config(test: T) -> T:
    """Run the decorated test on ``fk_expiry_config`` where the provider's tests define one: the
    test waits for a session to expire, or for a closed session's leases to run out, as long as
    that config's ``session-timeout`` says. Every other test runs on ``fk_config``, whose timeouts
    can then be long enough that no session expires merely because the machine is slow."""
    setattr(test, _ON_EXPIRY_CONFIG, True)
    return test


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
    def fk_checked_config(self, request: pytest.FixtureRequest, provider: Provider) -> Config:
        """``fk_config`` (``fk_expiry_config``, if defined, for a test marked
        :func:`on_expiry_config`), checked to name ``provider`` (the client finds its provider by
        that name)."""
        if getattr(request.function, _ON_EXPIRY_CONFIG, False):
            try:
                expiry = request.getfixturevalue("fk_expiry_config")
            except pytest.FixtureLookupError as missing:
                if missing.argname != "fk_expiry_config":
                    raise
            else:
                return self._checked(provider, "fk_expiry_config", expiry)
        return self._checked(provider, "fk_config", request.getfixturevalue("fk_config"))

    @staticmethod
    def _checked(provider: Provider, name: str, config: object) -> Config:
        if not isinstance(config, Config):
            pytest.fail(f"the '{name}' fixture must return a faaskeeper Config, got {type(config).__name__}")
        if config.cloud_provider != provider.name:
            pytest.fail(
                f"{name} names the provider {config.cloud_provider!r} but the 'provider' fixture "
                f"is {provider.name!r}; clients would test a different provider"
            )
        return config

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
    def function_triggers(self, deployment: Deployment) -> FunctionTriggers:
        """How the tests that run the functions by hand reach them (they require POLLING_QUEUES):
        by default the deployment's own queues, which must be PollingQueues, each message handed
        to the core's function as it is. A provider whose queues are not PollingQueues, but whose
        functions can be run by hand, overrides this fixture in its test class with polling views
        of its queues and its functions around the core's, and declares POLLING_QUEUES there."""
        return FunctionTriggers(
            _polling(deployment.writer_queue, "writer"), _polling(deployment.distributor_queue, "distributor")
        )

    @pytest.fixture
    def function_rig(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        function_triggers: FunctionTriggers,
    ) -> Callable[..., FunctionRig]:
        """``function_rig(faults=..., writers=..., distributors=..., lock_max_hold=...,
        redelivery_delay=...)`` runs the deployment's functions by hand over its queues (or the
        wrappers given), through the provider's own steps around the core's functions."""

        def make(
            faults: FaultHook | None = None,
            writers: PollingQueue | None = None,
            distributors: PollingQueue | None = None,
            *,
            lock_max_hold: float,
            redelivery_delay: float | None = 0.3,
        ) -> FunctionRig:
            return FunctionRig(
                deployment,
                writers or writer_queue,
                distributors or distributor_queue,
                faults=faults,
                lock_max_hold=lock_max_hold,
                redelivery_delay=redelivery_delay,
                writer_trigger=function_triggers.writer,
                distributor_trigger=function_triggers.distributor,
            )

        return make

    @pytest.fixture
    def writer_queue(self, function_triggers: FunctionTriggers) -> PollingQueue:
        """The writer queue as a PollingQueue (tests using it require POLLING_QUEUES)."""
        return function_triggers.writer_queue

    @pytest.fixture
    def distributor_queue(self, function_triggers: FunctionTriggers) -> PollingQueue:
        """The distributor queue as a PollingQueue (tests using it require POLLING_QUEUES)."""
        return function_triggers.distributor_queue

    @pytest.fixture
    def channel(self, deployment: Deployment) -> ChannelSender:
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
