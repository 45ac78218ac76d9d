"""The GCP provider: Firestore storage, Pub/Sub queues, functions fed by Pub/Sub push subscriptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from faaskeeper.api.cost import CostModel
from faaskeeper.api.provider import SILENT, Capability, DeploymentStatus, Provider, Reporter
from faaskeeper.config import Config
from faaskeeper_gcp.deploy.cloud_options import DeployOptions
from faaskeeper_gcp.settings import MAX_COMMIT_WRITES, SECTION_KEYS, GcpSettings

if TYPE_CHECKING:
    from faaskeeper_gcp.deployment import GcpDeployment


class GcpProvider(Provider):
    name = "gcp"
    #: Clients in any number of processes share a deployment, whose state lives in Firestore and
    #: Pub/Sub, not in them. The queues are pushed to functions, not polled by a host.
    capabilities = frozenset({Capability.MULTI_PROCESS, Capability.DURABLE})

    def validate_config(self, config: Config) -> None:
        GcpSettings.from_config(config)
        DeployOptions.from_config(config)

    def config_keys(self) -> frozenset[str]:
        return SECTION_KEYS

    def max_data_size(self, config: Config) -> int:
        return GcpSettings.from_config(config).max_data_size

    def max_commit_writes(self, config: Config) -> int:
        return MAX_COMMIT_WRITES

    def open(self, config: Config) -> GcpDeployment:
        from faaskeeper_gcp.deployment import GcpDeployment

        return GcpDeployment(config, GcpSettings.from_config(config))

    def deploy(self, config: Config, *, clean: bool = False, reporter: Reporter = SILENT) -> Config:
        from faaskeeper_gcp.deploy.resources import deploy_service

        settings = GcpSettings.from_config(config)
        try:
            return deploy_service(config, settings, clean=clean, reporter=reporter)
        finally:
            settings.close()

    def deploy_functions(self, config: Config, *, reporter: Reporter = SILENT) -> bool:
        """Point the push subscriptions at the configured functions endpoint (``fk deploy functions``)."""
        from faaskeeper_gcp.deploy.resources import deploy_functions

        settings = GcpSettings.from_config(config)
        try:
            deploy_functions(config, settings, reporter=reporter)
        finally:
            settings.close()
        return True

    def remove(self, config: Config, *, reporter: Reporter = SILENT) -> None:
        from faaskeeper_gcp.deploy.resources import remove_service

        settings = GcpSettings.from_config(config)
        try:
            remove_service(config, settings, reporter=reporter)
        finally:
            settings.close()

    def cost_model(self, config: Config) -> CostModel:
        from faaskeeper_gcp.cost.model import GcpCostModel

        return GcpCostModel(config)

    def status(self, config: Config, *, reporter: Reporter = SILENT) -> DeploymentStatus:
        from faaskeeper_gcp.deploy.status import service_status

        settings = GcpSettings.from_config(config)
        try:
            return service_status(config, settings, reporter=reporter)
        finally:
            settings.close()
