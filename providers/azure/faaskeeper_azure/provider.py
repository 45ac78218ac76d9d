"""The Azure provider: Cosmos DB system storage, Blob Storage or Cosmos DB user storage, Storage
Queues feeding Azure Functions."""

from __future__ import annotations

from faaskeeper.api.provider import SILENT, Capability, Deployment, Provider, Reporter
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper_azure.settings import SECTION_KEYS, AzureSettings


def _not_yet(what: str) -> ProviderException:
    return ProviderException(
        f"Azure {what} is not available yet: this version of faaskeeper-azure provides its storage only "
        "(faaskeeper_azure.storage)"
    )


class AzureProvider(Provider):
    name = "azure"
    #: Clients in any number of processes share a deployment, whose state lives in Cosmos DB,
    #: Blob Storage and Storage Queues, not in them.
    capabilities = frozenset({Capability.MULTI_PROCESS, Capability.DURABLE})

    def validate_config(self, config: Config) -> None:
        AzureSettings.from_config(config)

    def config_keys(self) -> frozenset[str]:
        return SECTION_KEYS

    def max_data_size(self, config: Config) -> int:
        return AzureSettings.from_config(config).max_data_size

    def open(self, config: Config) -> Deployment:
        AzureSettings.from_config(config)
        raise _not_yet("deployment (queues, functions and client channel)")

    def deploy(self, config: Config, *, clean: bool = False, reporter: Reporter = SILENT) -> Config:
        AzureSettings.from_config(config)
        raise _not_yet("fk deploy service")

    def remove(self, config: Config, *, reporter: Reporter = SILENT) -> None:
        AzureSettings.from_config(config)
        raise _not_yet("fk remove service")
