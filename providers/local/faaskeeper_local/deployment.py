"""A local deployment as one process sees it; processes share the file, threads share the process's handle."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from faaskeeper.api.channel import ChannelListener, ClientChannel
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.api.queue import PollingQueue
from faaskeeper.channels.tcp import TcpChannel, TcpListener
from faaskeeper.config import Config
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.heartbeat import HeartbeatFunction
from faaskeeper.protocol.host import PollingFunctionHost, ScheduledFunction
from faaskeeper.protocol.settings import FaultHook, FunctionSettings
from faaskeeper.protocol.writer import Writer
from faaskeeper_local.database import Database
from faaskeeper_local.queue import LocalQueue
from faaskeeper_local.settings import LocalSettings
from faaskeeper_local.system_storage import LocalSystemStorage
from faaskeeper_local.user_storage import LocalUserStorage

WRITER_QUEUE = "writer"
DISTRIBUTOR_QUEUE = "distributor"


class _SharedFile:
    """What all clients of one deployment in this process share: connections and one function host."""

    def __init__(self, settings: LocalSettings, config: Config, faults: FaultHook | None) -> None:
        self.db = Database(settings.database)
        self.system = LocalSystemStorage(self.db)
        self.user = LocalUserStorage(self.db)
        self.system.ensure_root()
        self.user.ensure_root()
        self.writer_queue = LocalQueue(self.db, WRITER_QUEUE)
        self.distributor_queue = LocalQueue(self.db, DISTRIBUTOR_QUEUE)
        self.channel = TcpChannel()
        functions = FunctionSettings(
            lock_max_hold=settings.lock_max_hold,
            max_data_size=config.max_data_size,
            heartbeat_interval=config.heartbeat_frequency,
            session_timeout=config.effective_session_timeout,
            faults=faults,
        )
        self.writer = Writer(self.system, self.distributor_queue, self.channel, functions)
        self.distributor = Distributor(self.system, self.user, self.channel, functions)
        self.heartbeat = HeartbeatFunction(self.system, self.writer_queue, self.channel, functions)
        # Slightly under the period, so the process whose timer fires first each period claims it.
        self.heartbeat_interval = config.heartbeat_frequency * 0.9
        self.schedule = ScheduledFunction(config.heartbeat_frequency, self._heartbeat, "faaskeeper-heartbeat")
        triggers: list[tuple[PollingQueue, object]] = [
            (self.writer_queue, self.writer.handle),
            (self.distributor_queue, self.distributor.handle),
        ]
        self.host = PollingFunctionHost(
            triggers,  # type: ignore[arg-type]
            visibility_timeout=settings.visibility_timeout,
            max_receives=settings.max_receives,
        )
        self.references = 0
        self.host_references = 0

    def _heartbeat(self) -> None:
        # Every process schedules the heartbeat; one of them runs it per period.
        claimed = self.system.claim_schedule("heartbeat", time.time(), self.heartbeat_interval)
        if claimed and self.heartbeat.run().expired:
            self.host.wake()

    def start(self) -> None:
        self.host.start()
        self.schedule.start()

    def stop(self) -> None:
        self.schedule.stop()
        self.host.stop()


_shared: dict[Path, _SharedFile] = {}
_shared_lock = threading.Lock()

#: Fault hook for the functions this process hosts (tests set it before opening a deployment).
process_faults: FaultHook | None = None


class _SharedHost(FunctionHost):
    """Counts the clients of this process using the one host of a deployment."""

    def __init__(self, shared: _SharedFile) -> None:
        self._shared = shared
        self._started = False

    def start(self) -> None:
        with _shared_lock:
            if not self._started:
                self._started = True
                self._shared.host_references += 1
                self._shared.start()

    def wake(self) -> None:
        self._shared.host.wake()

    def stop(self) -> None:
        with _shared_lock:
            if self._started:
                self._started = False
                self._shared.host_references -= 1
                if self._shared.host_references == 0:
                    self._shared.stop()


class LocalDeployment(Deployment):
    def __init__(self, config: Config, settings: LocalSettings) -> None:
        super().__init__(config)
        self.settings = settings
        with _shared_lock:
            shared = _shared.get(settings.database)
            if shared is None:
                shared = _SharedFile(settings, config, process_faults)
                _shared[settings.database] = shared
            shared.references += 1
        self._shared = shared
        self._closed = False

    @property
    def system_storage(self) -> LocalSystemStorage:
        return self._shared.system

    @property
    def user_storage(self) -> LocalUserStorage:
        return self._shared.user

    @property
    def writer_queue(self) -> LocalQueue:
        return self._shared.writer_queue

    @property
    def distributor_queue(self) -> LocalQueue:
        return self._shared.distributor_queue

    @property
    def channel(self) -> ClientChannel:
        return self._shared.channel

    @property
    def host(self) -> PollingFunctionHost:
        return self._shared.host

    def listener(self, port: int = -1) -> ChannelListener:
        return TcpListener("127.0.0.1", port)

    def function_host(self) -> FunctionHost:
        return _SharedHost(self._shared)

    def close(self) -> None:
        with _shared_lock:
            if self._closed:
                return
            self._closed = True
            self._shared.references -= 1
            if self._shared.references > 0:
                return
            _shared.pop(self.settings.database, None)
        self._shared.stop()
        self._shared.channel.close()
        self._shared.db.close()
