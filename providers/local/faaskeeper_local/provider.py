"""The local provider: deploy creates the file, remove deletes it; nothing runs in between."""

from __future__ import annotations

import shutil

from faaskeeper.api.provider import SILENT, Capability, DeploymentStatus, Provider, Reporter
from faaskeeper.config import Config
from faaskeeper.exceptions import DeploymentNotFoundException, ProviderException
from faaskeeper.protocol.settings import FaultHook, StorageFault
from faaskeeper_local import deployment as local_deployment
from faaskeeper_local.deploy.status import service_status
from faaskeeper_local.deployment import LocalDeployment, create_deployment
from faaskeeper_local.settings import MAX_COMMIT_WRITES, SECTION_KEYS, LocalSettings
from faaskeeper_local.storage.database import writes_held


class LocalProvider(Provider):
    """A whole deployment in one SQLite file. Functions run inside the client processes."""

    name = "local"
    capabilities = frozenset({Capability.POLLING_QUEUES, Capability.MULTI_PROCESS, Capability.DURABLE})

    def validate_config(self, config: Config) -> None:
        LocalSettings.from_config(config)

    def config_keys(self) -> frozenset[str]:
        return SECTION_KEYS

    def open(self, config: Config) -> LocalDeployment:
        """The deployment, which ``deploy`` created; DeploymentNotFoundException if there is none."""
        settings = LocalSettings.from_config(config)
        if not settings.database.is_file():
            source = config.source or "CONFIG"
            raise DeploymentNotFoundException(
                f"No local deployment {config.deployment_name!r}: {settings.database} does not exist; "
                f"create it with `fk deploy service --config {source}`"
            )
        return LocalDeployment(config, settings)

    def max_commit_writes(self, config: Config) -> int:
        return MAX_COMMIT_WRITES

    def max_data_size(self, config: Config) -> int:
        """The limit ``fk deploy`` stored with the deployment: a client's config cannot raise it."""
        deployment = self.open(config)
        try:
            return deployment.max_data_size
        finally:
            deployment.close()

    def inject_faults(self, faults: FaultHook | None, writer_storage: StorageFault | None = None) -> bool:
        """The functions of a deployment file are set up by the first client of this process that
        opens it; those of files already open keep their faults."""
        local_deployment.process_faults = faults
        local_deployment.process_writer_storage = writer_storage
        return True

    def deploy(self, config: Config, *, clean: bool = False, reporter: Reporter = SILENT) -> Config:
        settings = LocalSettings.from_config(config)
        if clean:
            self.remove(config, reporter=reporter)
        reporter.step(f"creating {settings.database} with the root node")
        create_deployment(settings, config.max_data_size)
        out = config.serialize()
        out["local"] = {**config.provider_section, "path": str(settings.directory.parent)}
        return Config.deserialize(out)

    def remove(self, config: Config, *, reporter: Reporter = SILENT) -> None:
        settings = LocalSettings.from_config(config)
        if not settings.directory.exists():
            return
        reporter.step(f"deleting {settings.directory}")
        with writes_held(settings.database):
            try:
                shutil.rmtree(settings.directory)
            except OSError as err:
                raise ProviderException(f"Cannot remove {settings.directory}: {err}") from err

    def status(self, config: Config, *, reporter: Reporter = SILENT) -> DeploymentStatus:
        settings = LocalSettings.from_config(config)
        reporter.step(f"reading {settings.database}")
        return service_status(config, settings)
