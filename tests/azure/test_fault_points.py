"""The core's fault-point suite on Azure: each function dying at each of its fault points, every
message delivered twice with the sessions interleaved, and the redelivery cases that follow, over
Azurite's Storage Queues and Cosmos DB, the functions run by hand as the deployed ones run
(:mod:`tests.azure.polling`: the provider's ordering writer and doorbell-draining distributor
around the core's functions).

The core's ``PollingQueueSuite`` does not run here: it tests a queue that is FIFO per group, keeps
one batch of a group in flight and numbers its messages, which Storage Queues are not and do not.
Azure restores those guarantees above the queue, and ``tests/azure/test_queues.py`` tests them
there with the same strength: each session's requests reach the writer in order, one at a time,
under shuffled, duplicated, failed and redelivered deliveries and concurrent consumers; the
distributor's log gives gapless increasing transaction ids under concurrent appends, one per
retried send, applied in id order whatever the doorbells' order."""

from __future__ import annotations

import pytest

from faaskeeper.api.provider import Capability, Deployment, Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import FaultPointSuite
from faaskeeper.testing.pytest_plugin import Deploy
from faaskeeper.testing.support import FunctionTriggers
from faaskeeper_azure.deployment import AzureDeployment
from faaskeeper_azure.emulator.servers import Emulators
from faaskeeper_azure.provider import AzureProvider
from tests.azure.polling import function_triggers


class PollingAzureProvider(AzureProvider):
    """The Azure provider, declaring POLLING_QUEUES for the test class below, which supplies the
    polling views of its Storage Queues and its functions around the core's."""

    capabilities = frozenset({Capability.POLLING_QUEUES})


@pytest.fixture
def provider() -> Provider:
    assert isinstance(get_provider("azure"), AzureProvider), "the entry point finds the Azure provider"
    return PollingAzureProvider()


@pytest.fixture
def fk_config(provider: Provider, deploy: Deploy, deployment_name: str, azure_emulators: Emulators) -> Config:
    return deploy(
        provider,
        {
            "cloud-provider": "azure",
            "deployment-name": deployment_name,
            "heartbeat-frequency": 0.5,
            "session-timeout": 10.0,
            "azure": azure_emulators.config_section(),
        },
    )


class TestFaultPointsOverStorageQueues(FaultPointSuite):
    #: A delivery released after a death is hidden for whole seconds, and one early for its
    #: session's turn waits a second more.
    settle_timeout = 30.0

    @pytest.fixture
    def function_triggers(self, deployment: Deployment) -> FunctionTriggers:
        assert isinstance(deployment, AzureDeployment)
        return function_triggers(deployment)
