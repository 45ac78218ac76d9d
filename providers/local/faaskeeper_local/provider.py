"""The local provider: deploy creates the file, remove deletes it; nothing runs in between."""

from __future__ import annotations

import shutil
from typing import Any

from faaskeeper.api.provider import Capability, Provider
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper_local.deployment import LocalDeployment
from faaskeeper_local.settings import LocalSettings


class LocalProvider(Provider):
    """A whole deployment in one SQLite file. Functions run inside the client processes."""

    name = "local"
    capabilities = frozenset({Capability.POLLING_QUEUES, Capability.MULTI_PROCESS, Capability.DURABLE})

    def validate_config(self, config: Config) -> None:
        LocalSettings.from_config(config)

    def open(self, config: Config) -> LocalDeployment:
        return LocalDeployment(config, LocalSettings.from_config(config))

    def deploy(self, config: Config, *, clean: bool = False) -> Config:
        settings = LocalSettings.from_config(config)
        if clean:
            self.remove(config)
        self.open(config).close()
        out = config.serialize()
        out["local"] = {**config.provider_section, "path": str(settings.directory.parent)}
        return Config.deserialize(out)

    def remove(self, config: Config) -> None:
        settings = LocalSettings.from_config(config)
        if not settings.directory.exists():
            return
        try:
            shutil.rmtree(settings.directory)
        except OSError as err:
            raise ProviderException(f"Cannot remove {settings.directory}: {err}") from err

    def status(self, config: Config) -> dict[str, Any]:
        settings = LocalSettings.from_config(config)
        if not settings.database.exists():
            return {"provider": self.name, "deployed": False, "file": str(settings.database)}
        deployment = self.open(config)
        try:
            return {
                "provider": self.name,
                "deployed": True,
                "file": str(settings.database),
                "nodes": deployment.system_storage.count_nodes(),
                "sessions": len(deployment.system_storage.list_sessions()),
                "writer queue": deployment.writer_queue.depth(),
                "distributor queue": deployment.distributor_queue.depth(),
                "dead letters": len(deployment.writer_queue.dead_letters())
                + len(deployment.distributor_queue.dead_letters()),
            }
        finally:
            deployment.close()
