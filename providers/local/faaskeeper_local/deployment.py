"""A local deployment as one process sees it; processes share the file, threads share the process's handle."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from faaskeeper.api.channel import ChannelListener, ClientChannel
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.channels.tcp import TcpChannel, TcpListener
from faaskeeper.config import Config
from faaskeeper.protocol.embedded import EmbeddedFunctions
from faaskeeper.protocol.settings import FaultHook, FunctionSettings
from faaskeeper_local.database import Database
from faaskeeper_local.queue import LocalQueue
from faaskeeper_local.settings import LocalSettings
from faaskeeper_local.system_storage import LocalSystemStorage
from faaskeeper_local.user_storage import LocalUserStorage

WRITER_QUEUE = "writer"
DISTRIBUTOR_QUEUE = "distributor"


class _SharedFile:
    """What all clients of one deployment in this process share: connections and the functions."""

    def __init__(self, settings: LocalSettings, config: Config, faults: FaultHook | None) -> None:
        self.db = Database(settings.database)
        self.system = LocalSystemStorage(self.db)
        self.user = LocalUserStorage(self.db)
        self.system.ensure_root()
        self.user.ensure_root()
        self.writer_queue = LocalQueue(self.db, WRITER_QUEUE)
        self.distributor_queue = LocalQueue(self.db, DISTRIBUTOR_QUEUE)
        self.channel = TcpChannel()
        self.references = 0
        # Every process schedules the heartbeat; the first to claim a period runs it. Claims
        # fall due slightly before the period, so the next timer that fires takes the next one.
        claim_interval = config.heartbeat_frequency * 0.9
        self.functions = EmbeddedFunctions(
            system=self.system,
            user=self.user,
            writer_queue=self.writer_queue,
            distributor_queue=self.distributor_queue,
            channel=self.channel,
            settings=FunctionSettings.from_config(
                config,
                lock_max_hold=settings.lock_max_hold,
                lease_key=self.system.lease_key(),
                faults=faults,
                redelivery_window=settings.visibility_timeout * settings.max_receives,
            ),
            visibility_timeout=settings.visibility_timeout,
            max_receives=settings.max_receives,
            claim_heartbeat=lambda: self.system.claim_schedule("heartbeat", time.time(), claim_interval),
            name="faaskeeper-local",
        )


def create_deployment(settings: LocalSettings) -> None:
    """Create the deployment file of ``settings`` with both root nodes, if it does not exist yet."""
    db = Database(settings.database, create=True)
    try:
        LocalSystemStorage(db).ensure_root()
        LocalUserStorage(db).ensure_root()
    finally:
        db.close()


_shared: dict[Path, _SharedFile] = {}
_shared_lock = threading.Lock()

#: Fault hook for the functions this process hosts (tests set it before opening a deployment).
process_faults: FaultHook | None = None


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

    def listener(self, port: int = -1) -> ChannelListener:
        return TcpListener("127.0.0.1", port)

    def function_host(self) -> FunctionHost:
        return self._shared.functions.handle()

    def close(self) -> None:
        with _shared_lock:
            if self._closed:
                return
            self._closed = True
            self._shared.references -= 1
            if self._shared.references > 0:
                return
            _shared.pop(self.settings.database, None)
        self._shared.functions.stop()
        self._shared.channel.close()
        self._shared.db.close()
