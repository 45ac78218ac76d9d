"""The memory provider: deploy creates a deployment in this process, remove forgets it."""

from __future__ import annotations

from typing import Any

from faaskeeper.api.provider import Capability, Provider
from faaskeeper.config import Config
from faaskeeper_memory import deployment
from faaskeeper_memory.deployment import MemoryDeployment
from faaskeeper_memory.settings import MemorySettings


class MemoryProvider(Provider):
    """Deployments held in the memory of one process; functions run in a thread of it."""

    name = "memory"
    capabilities = frozenset({Capability.POLLING_QUEUES})

    def validate_config(self, config: Config) -> None:
        MemorySettings.from_config(config)

    def open(self, config: Config) -> MemoryDeployment:
        return MemoryDeployment(config)

    def deploy(self, config: Config, *, clean: bool = False) -> Config:
        settings = MemorySettings.from_config(config)
        if clean:
            self.remove(config)
        deployment.create(config, settings)
        return Config.deserialize(config.serialize())

    def remove(self, config: Config) -> None:
        deployment.drop(config.deployment_name)

    def status(self, config: Config) -> dict[str, Any]:
        state = deployment.find(config.deployment_name)
        if state is None:
            return {"provider": self.name, "deployed": False}
        return {
            "provider": self.name,
            "deployed": True,
            "nodes": state.system.count_nodes(),
            "sessions": len(state.system.list_sessions()),
            "writer queue": state.writer_queue.depth(),
            "distributor queue": state.distributor_queue.depth(),
        }
