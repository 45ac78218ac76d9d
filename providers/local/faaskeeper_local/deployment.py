"""A local deployment as one process sees it; processes share the file, threads share the process's handle."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.channels.tcp import TcpChannel, TcpListener
from faaskeeper.config import DEFAULT_MAX_DATA_SIZE, Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.embedded import EmbeddedFunctions
from faaskeeper.protocol.settings import FaultHook, FunctionSettings, StorageFault
from faaskeeper_local.functions import CommittingChannel, committing_faults, committing_writer_storage
from faaskeeper_local.queues import LocalQueue
from faaskeeper_local.settings import MAX_COMMIT_WRITES, LocalSettings
from faaskeeper_local.storage.database import Database
from faaskeeper_local.storage.system import LocalSystemStorage
from faaskeeper_local.storage.user import LocalUserStorage

WRITER_QUEUE = "writer"
DISTRIBUTOR_QUEUE = "distributor"
#: The key of the ``meta`` table under which ``fk deploy`` stores the deployment's node data limit.
MAX_DATA_SIZE_KEY = "max-data-size"


class _SharedFile:
    """What all clients of one deployment in this process share: connections and the functions."""

    def __init__(
        self, settings: LocalSettings, config: Config, faults: FaultHook | None, writer_storage: StorageFault | None
    ) -> None:
        self.db = Database(settings.database)
        try:
            self.db.check_integrity()
            self.max_data_size = stored_max_data_size(self.db)
        except BaseException:
            self.db.close()
            raise
        self.system = LocalSystemStorage(self.db)
        self.user = LocalUserStorage(self.db)
        self.writer_queue = LocalQueue(self.db, WRITER_QUEUE)
        self.distributor_queue = LocalQueue(self.db, DISTRIBUTOR_QUEUE)
        # A client's send fails at once with its own error; a full disk met by the functions is
        # reported to the clients, whose calls wait for them.
        self.client_writer_queue = LocalQueue(self.db, WRITER_QUEUE, report_full=False)
        self.channel = TcpChannel()
        self.references = 0
        # Every process schedules the heartbeat; the first to claim a period runs it. Claims
        # fall due slightly before the period, so the next timer that fires takes the next one.
        claim_interval = config.heartbeat_interval * 0.9
        self.functions = EmbeddedFunctions(
            system=self.system,
            user=self.user,
            writer_queue=self.writer_queue,
            distributor_queue=self.distributor_queue,
            channel=CommittingChannel(self.channel, self.db),
            settings=FunctionSettings.from_config(
                config,
                lock_max_hold=settings.lock_max_hold,
                lease_key=self.system.lease_key(),
                faults=committing_faults(faults, self.db),
                writer_storage=committing_writer_storage(writer_storage, self.db),
                redelivery_window=settings.visibility_timeout * settings.max_receives,
                # The deployment's own limit, not the client's: its config may allow more.
                max_data_size=self.max_data_size,
                max_commit_writes=MAX_COMMIT_WRITES,
            ),
            visibility_timeout=settings.visibility_timeout,
            max_receives=settings.max_receives,
            claim_heartbeat=lambda: self.system.claim_schedule("heartbeat", time.time(), claim_interval),
            name="faaskeeper-local",
            # Each batch's changes share transactions, committed before anything is sent.
            invocation=self.db.invocation,
        )

    def usable(self) -> bool:
        """Whether the file at the path is still this one, and sound, for a new client to share it."""
        try:
            self.db.verify()
        except ProviderException:
            return False
        return True


def create_deployment(settings: LocalSettings, max_data_size: int) -> str:
    """Create the deployment file of ``settings`` with both root nodes if it does not exist yet,
    and store its node data limit and durability mode; its deployment id. An existing file must be a deployment."""
    db = Database(settings.database, create=True, durability_mode=settings.durability)
    try:
        db.check_integrity()
        db.store_durability()
        LocalSystemStorage(db).ensure_root()
        LocalUserStorage(db).ensure_root()
        with db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (MAX_DATA_SIZE_KEY, str(max_data_size)))
        return db.deployment_id
    finally:
        db.close()


def stored_max_data_size(db: Database) -> int:
    """The node data limit ``fk deploy`` stored; deployments made before it stored one have the default."""
    rows = db.query("SELECT value FROM meta WHERE key = ?", (MAX_DATA_SIZE_KEY,))
    return int(rows[0][0]) if rows else DEFAULT_MAX_DATA_SIZE


_shared: dict[Path, _SharedFile] = {}
_shared_lock = threading.Lock()

#: Fault hook for the functions this process hosts (tests set it before opening a deployment).
process_faults: FaultHook | None = None
#: What the writers this process hosts see of system storage instead of the deployment's (broken builds).
process_writer_storage: StorageFault | None = None


class LocalDeployment(Deployment[LocalSystemStorage, LocalUserStorage, LocalQueue, LocalQueue]):
    def __init__(self, config: Config, settings: LocalSettings) -> None:
        self.settings = settings
        with _shared_lock:
            shared = _shared.get(settings.database)
            # A file removed or replaced under the clients sharing it is left to them (they fail);
            # a new client opens what the path holds now.
            if shared is None or not shared.usable():
                shared = _SharedFile(settings, config, process_faults, process_writer_storage)
                _shared[settings.database] = shared
            shared.references += 1
        super().__init__(
            config,
            system_storage=shared.system,
            user_storage=shared.user,
            writer_queue=shared.client_writer_queue,
            distributor_queue=shared.distributor_queue,
            channel=shared.channel,
        )
        self._shared = shared
        self._closed = False
        self._cancels: list[Callable[[], None]] = []

    def listener(self, port: int = -1) -> ChannelListener:
        return TcpListener("127.0.0.1", port)

    @property
    def max_data_size(self) -> int:
        """The largest node data the deployment stores, as ``fk deploy`` stored it."""
        return self._shared.max_data_size

    @property
    def deployment_id(self) -> str:
        return self._shared.db.deployment_id

    def function_host(self) -> FunctionHost:
        return self._shared.functions.handle()

    def on_failure(self, listener: Callable[[ProviderException], None]) -> None:
        self._cancels.append(self._shared.db.on_failure(listener))

    def close(self) -> None:
        with _shared_lock:
            if self._closed:
                return
            self._closed = True
            for cancel in self._cancels:
                cancel()
            self._shared.references -= 1
            if self._shared.references > 0:
                return
            if _shared.get(self.settings.database) is self._shared:
                del _shared[self.settings.database]
        self._shared.functions.stop()
        self._shared.channel.close()
        self._shared.db.close()
