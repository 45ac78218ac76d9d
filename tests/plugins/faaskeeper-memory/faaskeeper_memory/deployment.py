"""Deployments by name in this process: every ``open`` of one name shares its state and function host."""

from __future__ import annotations

import threading
from collections.abc import Callable

from faaskeeper.api.channel import ChannelListener, ClientChannel
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper.channels.tcp import TcpChannel, TcpListener
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.heartbeat import HeartbeatFunction
from faaskeeper.protocol.host import PollingFunctionHost, ScheduledFunction
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.writer import Writer
from faaskeeper_memory.queue import MemoryQueue
from faaskeeper_memory.settings import MemorySettings
from faaskeeper_memory.system_storage import MemorySystemStorage
from faaskeeper_memory.user_storage import MemoryUserStorage


class DeploymentState:
    """Everything one deployment holds, and the one function host its clients share."""

    def __init__(self, name: str, config: Config, settings: MemorySettings) -> None:
        self.name = name
        self.settings = settings
        self.system = MemorySystemStorage()
        self.user = MemoryUserStorage()
        self.writer_queue = MemoryQueue("writer")
        self.distributor_queue = MemoryQueue("distributor")
        self.channel = TcpChannel()
        functions = FunctionSettings(
            lock_max_hold=settings.lock_max_hold,
            max_data_size=config.max_data_size,
            heartbeat_interval=config.heartbeat_frequency,
            session_timeout=config.effective_session_timeout,
        )
        self.heartbeat_interval = config.heartbeat_frequency
        self.writer = Writer(self.system, self.distributor_queue, self.channel, functions)
        self.distributor = Distributor(self.system, self.user, self.channel, functions)
        self.heartbeat = HeartbeatFunction(self.system, self.writer_queue, self.channel, functions)
        self._host: PollingFunctionHost | None = None
        self._schedule: ScheduledFunction | None = None
        self._host_users = 0

    def _new_host(self) -> PollingFunctionHost:
        triggers: list[tuple[PollingQueue, Callable[[QueueMessage], None]]] = [
            (self.writer_queue, self.writer.handle),
            (self.distributor_queue, self.distributor.handle),
        ]
        return PollingFunctionHost(
            triggers,
            visibility_timeout=self.settings.visibility_timeout,
            max_receives=self.settings.max_receives,
            name=f"faaskeeper-memory-{self.name}",
        )

    def _run_heartbeat(self) -> None:
        if self.heartbeat.run().expired:
            self.wake_host()

    def acquire_host(self) -> None:
        """The functions (and the heartbeat schedule) run while at least one client uses them."""
        with _registry_lock:
            self._host_users += 1
            if self._host is None:
                self._host = self._new_host()
                self._host.start()
                self._schedule = ScheduledFunction(
                    self.heartbeat_interval, self._run_heartbeat, f"faaskeeper-memory-heartbeat-{self.name}"
                )
                self._schedule.start()

    def wake_host(self) -> None:
        host = self._host
        if host is not None:
            host.wake()

    def release_host(self) -> None:
        with _registry_lock:
            self._host_users -= 1
            if self._host_users > 0:
                return
            host, schedule, self._host, self._schedule = self._host, self._schedule, None, None
        self._stop(host, schedule)

    @staticmethod
    def _stop(host: PollingFunctionHost | None, schedule: ScheduledFunction | None) -> None:
        if schedule is not None:
            schedule.stop()
        if host is not None:
            host.stop()

    def shutdown(self) -> None:
        with _registry_lock:
            host, schedule, self._host, self._schedule, self._host_users = self._host, self._schedule, None, None, 0
        self._stop(host, schedule)
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


class _HostHandle(FunctionHost):
    """One client's use of its deployment's shared function host."""

    def __init__(self, state: DeploymentState) -> None:
        self._state = state
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._state.acquire_host()

    def wake(self) -> None:
        self._state.wake_host()

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._state.release_host()


class MemoryDeployment(Deployment):
    def __init__(self, config: Config) -> None:
        super().__init__(config)
        state = find(config.deployment_name)
        if state is None:
            raise ProviderException(
                f"Memory deployment {config.deployment_name!r} is not deployed in this process; deploy it first"
            )
        self.state = state

    @property
    def system_storage(self) -> MemorySystemStorage:
        return self.state.system

    @property
    def user_storage(self) -> MemoryUserStorage:
        return self.state.user

    @property
    def writer_queue(self) -> MemoryQueue:
        return self.state.writer_queue

    @property
    def distributor_queue(self) -> MemoryQueue:
        return self.state.distributor_queue

    @property
    def channel(self) -> ClientChannel:
        return self.state.channel

    def listener(self, port: int = -1) -> ChannelListener:
        return TcpListener("127.0.0.1", port)

    def function_host(self) -> FunctionHost:
        return _HostHandle(self.state)
