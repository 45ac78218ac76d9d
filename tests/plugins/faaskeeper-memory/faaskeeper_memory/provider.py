"""The memory provider: deploy creates a deployment in this process, remove forgets it."""

from __future__ import annotations

from faaskeeper.api.provider import SILENT, Capability, DeploymentStatus, Provider, Reporter
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

    def deploy(self, config: Config, *, clean: bool = False, reporter: Reporter = SILENT) -> Config:
        settings = MemorySettings.from_config(config)
        if clean:
            self.remove(config, reporter=reporter)
        reporter.step(f"creating deployment {config.deployment_name!r} in this process")
        deployment.create(config, settings)
        return Config.deserialize(config.serialize())

    def remove(self, config: Config, *, reporter: Reporter = SILENT) -> None:
        deployment.drop(config.deployment_name)

    def status(self, config: Config, *, reporter: Reporter = SILENT) -> DeploymentStatus:
        state = deployment.find(config.deployment_name)
        if state is None:
            return {"provider": self.name, "deployed": False}
        return {
            "provider": self.name,
            "deployed": True,
            "deployment": config.deployment_name,
            "nodes": state.system.count_nodes(),
            "sessions": len(state.system.list_sessions()),
            "queues": [
                {
                    "name": queue.name,
                    "waiting": queue.depth(),
                    "in_flight": 0,
                    "dead_letters": len(queue.dead_letters()),
                }
                for queue in (state.writer_queue, state.distributor_queue)
            ],
            "details": {"lock-max-hold": f"{state.settings.lock_max_hold:g} s"},
        }
