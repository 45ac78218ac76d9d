"""The core's conformance suites on Azure: Azurite and the Cosmos DB server behind the project's
launcher, the functions served from the v2 app by the provider's function host polling the
Storage Queues; with each kind of user storage (Blob Storage, Cosmos DB items).

The suites that need POLLING_QUEUES skip here, as the provider's Storage Queues are not
PollingQueues: ``tests/azure/test_fault_points.py`` runs the fault-point suite over polling views
of them with the provider's functions around the core's, and ``tests/azure/test_queues.py``
stands in for the polling-queue suite (its docstring says why and how)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ConformanceSuite
from faaskeeper.testing.pytest_plugin import Deploy
from faaskeeper_azure.emulator.servers import Emulators, free_port
from faaskeeper_azure.functions.host import FunctionHost

#: No session expires for answering its heartbeats late on a loaded machine; the expiry tests
#: wait for short timeouts, as long as the function host's polling allows.
TIMING = {"heartbeat-frequency": 0.5, "session-timeout": 10.0}
EXPIRY_TIMING = {"heartbeat-frequency": 0.5, "session-timeout": 1.5}


@pytest.fixture
def provider() -> Provider:
    return get_provider("azure")


def azure_config(name: str, emulators: Emulators, timing: Mapping[str, float], user_storage: str) -> dict[str, object]:
    return {
        "cloud-provider": "azure",
        "deployment-name": name,
        "user-storage": user_storage,
        # Writes notifying more than two clients go through the watch function.
        "watch-fanout": 2,
        **timing,
        "azure": {**emulators.config_section(), "functions-endpoint": f"http://127.0.0.1:{free_port()}"},
    }


@pytest.fixture
def serve() -> Iterator[Callable[[Config], FunctionHost]]:
    """``serve(config)``: the deployment's functions served by the function host (stopped after the test)."""
    started: list[FunctionHost] = []

    def start(config: Config) -> FunctionHost:
        host = FunctionHost(config)
        host.start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


class _OnAzure:
    user_storage_kind = "persistent"

    def _serving(
        self,
        provider: Provider,
        deploy: Deploy,
        serve: Callable[[Config], FunctionHost],
        name: str,
        emulators: Emulators,
        timing: Mapping[str, float],
    ) -> Config:
        # The functions start after the deployment, so stop before it is removed.
        config = deploy(provider, azure_config(name, emulators, timing, self.user_storage_kind))
        serve(config)
        return config

    @pytest.fixture
    def fk_config(
        self,
        provider: Provider,
        deploy: Deploy,
        serve: Callable[[Config], FunctionHost],
        deployment_name: str,
        azure_emulators: Emulators,
    ) -> Config:
        return self._serving(provider, deploy, serve, deployment_name, azure_emulators, TIMING)

    @pytest.fixture
    def fk_expiry_config(
        self,
        provider: Provider,
        deploy: Deploy,
        serve: Callable[[Config], FunctionHost],
        deployment_name: str,
        azure_emulators: Emulators,
    ) -> Config:
        return self._serving(provider, deploy, serve, deployment_name, azure_emulators, EXPIRY_TIMING)


class TestAzureProvider(_OnAzure, ConformanceSuite):
    pass


class TestAzureProviderOnCosmosUserStorage(TestAzureProvider):
    user_storage_kind = "key-value"
