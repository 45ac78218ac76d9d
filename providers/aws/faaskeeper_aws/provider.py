"""The AWS provider: functions run on Lambda, triggered by SQS event source mappings and a schedule."""

from __future__ import annotations

from faaskeeper.api.cost import CostModel
from faaskeeper.api.provider import SILENT, DeploymentStatus, Provider, Reporter
from faaskeeper.config import Config
from faaskeeper_aws.deploy.tunables import DeployOptions
from faaskeeper_aws.deployment import AwsDeployment
from faaskeeper_aws.settings import MAX_COMMIT_WRITES, SECTION_KEYS, AwsSettings


class AwsProvider(Provider):
    name = "aws"
    capabilities = frozenset()

    def validate_config(self, config: Config) -> None:
        AwsSettings.from_config(config)
        DeployOptions.from_config(config)

    def config_keys(self) -> frozenset[str]:
        return SECTION_KEYS

    def max_data_size(self, config: Config) -> int:
        return AwsSettings.from_config(config).max_data_size

    def max_commit_writes(self, config: Config) -> int:
        return MAX_COMMIT_WRITES

    def open(self, config: Config) -> AwsDeployment:
        return AwsDeployment(config, AwsSettings.from_config(config))

    def deploy(self, config: Config, *, clean: bool = False, reporter: Reporter = SILENT) -> Config:
        from faaskeeper_aws.deploy.resources import deploy_service

        return deploy_service(config, AwsSettings.from_config(config), clean=clean, progress=reporter.step)

    def deploy_functions(self, config: Config, *, reporter: Reporter = SILENT) -> bool:
        """Upload the current code and point the deployed functions at it (``fk deploy functions``)."""
        from faaskeeper_aws.deploy.resources import deploy_functions

        deploy_functions(config, AwsSettings.from_config(config), progress=reporter.step)
        return True

    def remove(self, config: Config, *, reporter: Reporter = SILENT) -> None:
        from faaskeeper_aws.deploy.resources import remove_service

        remove_service(config, AwsSettings.from_config(config), progress=reporter.step)

    def cost_model(self, config: Config) -> CostModel:
        from faaskeeper_aws.cost.model import AwsCostModel

        return AwsCostModel(config)

    def status(self, config: Config, *, reporter: Reporter = SILENT) -> DeploymentStatus:
        from faaskeeper_aws.deploy.resources import service_status

        return service_status(config, AwsSettings.from_config(config), progress=reporter.step)
