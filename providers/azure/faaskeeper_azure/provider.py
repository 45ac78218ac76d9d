"""The Azure provider: Cosmos DB system storage, Blob Storage or Cosmos DB user storage, Storage
Queues feeding Azure Functions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faaskeeper.api.provider import SILENT, Capability, DeploymentStatus, Provider, Reporter
from faaskeeper.config import Config
from faaskeeper_azure.settings import MAX_COMMIT_WRITES, SECTION_KEYS, AzureSettings

if TYPE_CHECKING:
    from faaskeeper_azure.cost.model import AzureCostModel
    from faaskeeper_azure.deployment import AzureDeployment


class AzureProvider(Provider):
    name = "azure"
    #: Clients in any number of processes share a deployment, whose state lives in Cosmos DB,
    #: Blob Storage and Storage Queues, not in them.
    capabilities = frozenset({Capability.MULTI_PROCESS, Capability.DURABLE})

    def validate_config(self, config: Config) -> None:
        from faaskeeper_azure.deploy.cloud_options import CloudOptions

        AzureSettings.from_config(config)
        CloudOptions.of(config)

    def config_keys(self) -> frozenset[str]:
        return SECTION_KEYS

    def max_data_size(self, config: Config) -> int:
        return AzureSettings.from_config(config).max_data_size

    def max_commit_writes(self, config: Config) -> int:
        return MAX_COMMIT_WRITES

    def open(self, config: Config) -> AzureDeployment:
        from faaskeeper_azure.deployment import AzureDeployment

        return AzureDeployment(config, AzureSettings.from_config(config))

    def deploy(self, config: Config, *, clean: bool = False, reporter: Reporter = SILENT) -> Config:
        from faaskeeper_azure.deploy.resources import deploy_service

        settings = AzureSettings.from_config(config)
        try:
            return deploy_service(config, settings, clean=clean, reporter=reporter)
        finally:
            settings.close()

    def status(self, config: Config, *, reporter: Reporter = SILENT) -> DeploymentStatus:
        from faaskeeper_azure.deploy.status import service_status

        settings = AzureSettings.from_config(config)
        try:
            return service_status(config, settings, reporter=reporter)
        finally:
            settings.close()

    def remove(self, config: Config, *, reporter: Reporter = SILENT) -> None:
        from faaskeeper_azure.deploy.resources import remove_service

        settings = AzureSettings.from_config(config)
        try:
            remove_service(config, settings, reporter=reporter)
        finally:
            settings.close()

    def deploy_functions(self, config: Config, *, reporter: Reporter = SILENT) -> bool:
        """Zip-deploy the functions to the Function App (a subscription); the emulators' function host
        runs the installed package, so there is nothing to update."""
        from faaskeeper_azure.deploy.resources import deploy_functions

        return deploy_functions(config, reporter=reporter)

    def cost_model(self, config: Config) -> AzureCostModel:
        from faaskeeper_azure.cost.model import AzureCostModel

        return AzureCostModel(config)
