"""The conformance suites that run the whole protocol through FaaSKeeperClient, on moto with the
functions in the Lambda emulator: ClientSuite for each client channel and user storage; the
session, watch and consistency suites for TCP with S3, SQS with DynamoDB and TCP with hybrid
storage (each channel and each storage once, to keep the run short), and hybrid storage again
with an item limit so small that nodes move between their item and S3 all the time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ClientSuite, ConsistencySuite, SessionSuite, TransactionSuite, WatchSuite
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.storage import hybrid


@pytest.fixture
def provider() -> Provider:
    return get_provider("aws")


class _OnAws:
    channel = "tcp"
    storage = "persistent"

    def _running(
        self, stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator], **timing: float
    ) -> Config:
        # The emulator starts before, so stops after, the suite's clients. Writes notifying more
        # than two clients go through the watch function.
        config = stackless(channel=self.channel, storage=self.storage, watch_fanout=2, **timing)
        emulate(config)
        return config

    @pytest.fixture
    def fk_config(self, stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator]) -> Config:
        # No session expires for answering its heartbeats late on a loaded machine.
        return self._running(stackless, emulate, session_timeout=10.0)

    @pytest.fixture
    def fk_expiry_config(self, stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator]) -> Config:
        # For the tests that wait for sessions to time out.
        return self._running(stackless, emulate, session_timeout=1.5)


class _Everything(_OnAws, ClientSuite, TransactionSuite, ConsistencySuite, SessionSuite, WatchSuite):
    pass


class TestTcpS3(_Everything):
    pass


class TestSqsDynamoDb(_Everything):
    channel = "sqs"
    storage = "key-value"


class TestSqsS3(_OnAws, ClientSuite):
    channel = "sqs"


class TestTcpDynamoDb(_OnAws, ClientSuite):
    storage = "key-value"


class TestTcpHybrid(_Everything):
    storage = "hybrid"


class TestSqsHybridMovingNodes(_OnAws, ClientSuite, ConsistencySuite, WatchSuite):
    """A node with a few bytes of data and no children fits this limit; more data, a child or a
    footprint sends it to S3, and back when it shrinks."""

    channel = "sqs"
    storage = "hybrid"

    @pytest.fixture(autouse=True)
    def _small_items(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(hybrid, "INLINE_LIMIT", 320)
