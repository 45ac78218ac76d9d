"""Deployments by name in this process: every ``open`` of one name shares its state and function host."""

from __future__ import annotations

import threading

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.channels.tcp import TcpChannel, TcpListener
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.embedded import EmbeddedFunctions
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper_memory.queue import MemoryQueue
from faaskeeper_memory.settings import MemorySettings
from faaskeeper_memory.system_storage import MemorySystemStorage
from faaskeeper_memory.user_storage import MemoryUserStorage


class DeploymentState:
    """Everything one deployment holds, and the functions its clients share."""

    def __init__(self, name: str, config: Config, settings: MemorySettings) -> None:
        self.name = name
        self.settings = settings
        self.system = MemorySystemStorage()
        self.user = MemoryUserStorage()
        self.writer_queue = MemoryQueue("writer")
        self.distributor_queue = MemoryQueue("distributor")
        self.channel = TcpChannel()
        self.functions = EmbeddedFunctions(
            system=self.system,
            user=self.user,
            writer_queue=self.writer_queue,
            distributor_queue=self.distributor_queue,
            channel=self.channel,
            settings=FunctionSettings.from_config(config, lock_max_hold=settings.lock_max_hold),
            visibility_timeout=settings.visibility_timeout,
            max_receives=settings.max_receives,
            name=f"faaskeeper-memory-{name}",
        )

    def shutdown(self) -> None:
        self.functions.stop()
        self.channel.close()


_deployments: dict[str, DeploymentState] = {}
_registry_lock = threading.RLock()


def create(config: Config, settings: MemorySettings) -> DeploymentState:
    with _registry_lock:
        state = _deployments.get(config.deployment_name)
        if state is None:
            state = DeploymentState(config.deployment_name, config, settings)
            _deployments[config.deployment_name] = state
        return state


def find(name: str) -> DeploymentState | None:
    with _registry_lock:
        return _deployments.get(name)


def drop(name: str) -> None:
    with _registry_lock:
        state = _deployments.pop(name, None)
    if state is not None:
        state.shutdown()


class MemoryDeployment(Deployment[MemorySystemStorage, MemoryUserStorage, MemoryQueue, MemoryQueue]):
    def __init__(self, config: Config) -> None:
        state = find(config.deployment_name)
        if state is None:
            raise ProviderException(
                f"Memory deployment {config.deployment_name!r} is not deployed in this process; deploy it first"
            )
        super().__init__(
            config,
            system_storage=state.system,
            user_storage=state.user,
            writer_queue=state.writer_queue,
            distributor_queue=state.distributor_queue,
            channel=state.channel,
        )
        self.state = state

    def listener(self, port: int = -1) -> ChannelListener:
        return TcpListener("127.0.0.1", port)

    def function_host(self) -> FunctionHost:
        return self.state.functions.handle()
