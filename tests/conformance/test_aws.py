"""The conformance suites that run the whole protocol through FaaSKeeperClient, on moto with the
functions in the Lambda emulator: ClientSuite for each client channel and user storage; the
session, watch and consistency suites for TCP with S3 and SQS with DynamoDB (each channel and
each storage once, to keep the run short)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ClientSuite, ConsistencySuite, SessionSuite, TransactionSuite, WatchSuite
from faaskeeper_aws.functions.host import LambdaEmulator


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
