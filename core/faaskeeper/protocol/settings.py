"""Tunables of the functions: lock expiry, retries and backoff, data limits, fault points."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faaskeeper.api.queue import QueueMessage
from faaskeeper.api.storage import SessionRecord, SystemStorage
from faaskeeper.config import DEFAULT_MAX_DATA_SIZE, DEFAULT_WATCH_FANOUT, Config

#: Called at each named step of a function; raising there simulates the function dying.
FaultHook = Callable[[str], None]
#: Wraps the system storage a writer is given, breaking it on purpose (:mod:`faaskeeper.check.broken`).
StorageFault = Callable[[SystemStorage], SystemStorage]


class FunctionCrash(BaseException):
    """Raised by a fault hook to kill a function mid-step; never caught by the protocol."""


@dataclass(frozen=True)
class FunctionSettings:
    #: Seconds a writer may hold a node lock before another writer may take it over.
    lock_max_hold: float = 5.0
    #: Allowance for clock differences between function instances, added to ``lock_max_hold``.
    clock_drift: float = 0.0
    #: Attempts to take the locks of one write before giving up (the message is retried later).
    lock_attempts: int = 60
    backoff_initial: float = 0.0005
    backoff_max: float = 0.05
    #: Attempts at lock-push-commit when a commit finds its lock lost.
    commit_attempts: int = 5
    #: Seconds after its first delivery that a writer-queue message can still be delivered again
    #: (visibility timeout times receives before dead-lettering): how long a node keeps the mark
    #: of a committed request.
    redelivery_window: float = 900.0
    #: Seconds before a delivery's deadline (``QueueMessage.deadline``) after which a function
    #: no longer commits, records or applies anything for it: the time one storage request takes.
    delivery_margin: float = 0.05
    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    #: The most items one commit may write in system storage (see
    #: :meth:`faaskeeper.api.provider.Provider.max_commit_writes`); None: no limit.
    max_commit_writes: int | None = None
    #: Seconds between heartbeat runs (the config's ``heartbeat-frequency``).
    heartbeat_interval: float = 5.0
    #: A session that has answered no heartbeat for this long is expired (:meth:`expiry_due`).
    session_timeout: float = 15.0
    #: The deployment's key for session leases (:mod:`faaskeeper.protocol.leases`); None: no
    #: leases, the writer reads the session of every request.
    lease_key: bytes | None = None
    #: The most clients the distributor notifies of one write itself; a write whose notifications
    #: go to more is handed to the watch function (the config's ``watch-fanout``).
    watch_fanout: int = DEFAULT_WATCH_FANOUT
    faults: FaultHook | None = None
    #: The system storage writers see, wrapping the deployment's; None in every sound build.
    writer_storage: StorageFault | None = None
    clock: Callable[[], float] = time.time

    @staticmethod
    def from_config(config: Config, **tunables: Any) -> FunctionSettings:
        """The settings a deployment's config implies (data limit, heartbeat period, session
        timeout, watch fan-out), with a provider's own ``tunables`` (lock hold, clock drift, faults) on top."""
        values: dict[str, Any] = {
            "max_data_size": config.max_data_size,
            "heartbeat_interval": config.heartbeat_interval,
            "session_timeout": config.effective_session_timeout,
            "watch_fanout": config.watch_fanout,
        }
        values.update(tunables)
        return FunctionSettings(**values)

    @property
    def lock_expiry(self) -> float:
        return self.lock_max_hold + self.clock_drift

    @property
    def unseen_silence(self) -> float:
        """Seconds a session may already have been silent when a ping first finds it so: the time
        since the ping it answered last, one heartbeat interval on schedule (at most a third of
        the session timeout, as the config keeps it)."""
        return min(self.heartbeat_interval, self.session_timeout / 3)

    @property
    def silence_allowed(self) -> float:
        """Seconds after the first ping it left unanswered that a session expires: the session
        timeout counts from the ping it answered last, as ZooKeeper counts it from the last
        message it heard."""
        return self.session_timeout - self.unseen_silence

    @property
    def lease_duration(self) -> float:
        """Seconds a session lease lasts: short enough to have ended, on every function's clock,
        when the session it was issued to can first be expired (:meth:`expiry_due` of the ping
        that carried it). 0: no leases are issued."""
        if self.lease_key is None:
            return 0.0
        return max(0.0, self.silence_allowed - 2 * self.clock_drift - self.delivery_margin)

    def expiry_due(self, silent_since: float) -> float:
        """When a session silent since ``silent_since`` (the end of the heartbeat run whose ping it
        left unanswered first) is expired: ``silence_allowed`` later, by when every lease it was
        given has run out (:meth:`leases_end`: ``lease_duration`` leaves the room for that)."""
        return silent_since + self.silence_allowed

    def leases_end(self, since: float) -> float:
        """When every lease issued to a session up to ``since`` has run out, on every function's
        clock, allowing for the storage request that recorded ``since``; ``since`` itself where
        no leases are issued."""
        if self.lease_duration <= 0:
            return since
        return since + self.lease_duration + self.clock_drift + self.delivery_margin

    def ended_record_kept_until(self, session: SessionRecord) -> float:
        """When the record of an ended session may go: once every lease given to it has run out,
        and once its registration can no longer be delivered again (it would find no record and
        register the session anew)."""
        return max(self.leases_end(session.ended_at), session.created + self.redelivery_window)

    def holds(self, message: QueueMessage) -> bool:
        """Whether this delivery of ``message`` may still act: no other delivery of it can have
        begun, nor begin before the action (given ``delivery_margin``) is done."""
        return self.clock() < message.deadline - self.delivery_margin

    def fault(self, point: str) -> None:
        if self.faults is not None:
            self.faults(point)

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for ``attempt`` (0-based)."""
        ceiling = min(self.backoff_max, self.backoff_initial * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)
