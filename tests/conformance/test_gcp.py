"""The core's conformance suites on GCP: Firestore and Pub/Sub emulators, the functions served by
functions-framework and fed by Pub/Sub push subscriptions; the protocol suites once with each
client channel (TCP, and each client's own Pub/Sub inbox)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import (
    ChannelSuite,
    ClientSuite,
    ConsistencySuite,
    DeploymentSuite,
    ProcessSuite,
    SessionSuite,
    SystemStorageSuite,
    TransactionSuite,
    UserStorageSuite,
    WatchSuite,
)
from faaskeeper_gcp.functions.host import FunctionServer


@pytest.fixture
def provider() -> Provider:
    return get_provider("gcp")


class _OnGcp:
    client_channel = "tcp"

    def _serving(
        self, deployed: Callable[..., Config], serve: Callable[..., FunctionServer], **timing: float
    ) -> Config:
        # The functions start before, so stop after, the suite's clients. Writes notifying more
        # than two clients go through the watch function.
        config = deployed(channel=self.client_channel, watch_fanout=2, **timing)
        serve(config)
        return config

    @pytest.fixture
    def fk_config(self, deployed: Callable[..., Config], serve: Callable[..., FunctionServer]) -> Config:
        # No session expires for answering its heartbeats late on a loaded machine.
        return self._serving(deployed, serve, session_timeout=10.0)

    @pytest.fixture
    def fk_expiry_config(self, deployed: Callable[..., Config], serve: Callable[..., FunctionServer]) -> Config:
        # For the tests that wait for sessions to time out.
        return self._serving(deployed, serve, session_timeout=1.5)


class TestInterfaces(_OnGcp, DeploymentSuite, SystemStorageSuite, UserStorageSuite, ChannelSuite):
    pass


class TestProtocol(_OnGcp, ClientSuite, TransactionSuite, ConsistencySuite, SessionSuite, WatchSuite, ProcessSuite):
    pass


class TestPubSubChannel(_OnGcp, ChannelSuite):
    client_channel = "pubsub"


class TestProtocolOverPubSub(TestProtocol):
    client_channel = "pubsub"
