"""Functions embedded in client processes, for providers without a function platform.

The writer and distributor run on a polling host over the provider's queues, the watch function
in the distributor's process (reached through its JSON request and report, as a remote one), and
the heartbeat on a timer, while at least one client of the process uses the deployment. Any process may take
any message, so one that dies mid-function has its message redelivered to another.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.provider import FunctionHost
from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper.api.storage import SystemStorage, UserStorage
from faaskeeper.protocol.distributor import Distributor
from faaskeeper.protocol.heartbeat import HeartbeatFunction
from faaskeeper.protocol.host import PollingFunctionHost, ScheduledFunction
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.watch_function import InProcessWatchInvoker, WatchFunction
from faaskeeper.protocol.writer import Writer


class EmbeddedFunctions:
    """One deployment's functions in this process, shared by its clients."""

    def __init__(
        self,
        *,
        system: SystemStorage,
        user: UserStorage,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        channel: ChannelSender,
        settings: FunctionSettings,
        visibility_timeout: float,
        max_receives: int,
        claim_heartbeat: Callable[[], bool] | None = None,
        name: str = "faaskeeper",
        invocation: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
    ) -> None:
        """``claim_heartbeat``, where several processes share a deployment, says whether this
        process runs the heartbeat this period; without it every period's heartbeat runs here.
        ``invocation``: see :class:`~faaskeeper.protocol.host.PollingFunctionHost`."""
        self.writer = Writer(system, distributor_queue, channel, settings)
        self.watch = WatchFunction(channel)
        self.distributor = Distributor(
            system, user, channel, settings, InProcessWatchInvoker(self.watch), writer_queue=writer_queue
        )
        self.heartbeat = HeartbeatFunction(system, writer_queue, channel, settings)
        triggers: list[tuple[PollingQueue, Callable[[QueueMessage], None]]] = [
            (writer_queue, self.writer.handle),
            (distributor_queue, self.distributor.handle),
        ]
        self.host = PollingFunctionHost(
            triggers,
            visibility_timeout=visibility_timeout,
            max_receives=max_receives,
            name=f"{name}-functions",
            invocation=invocation,
        )
        self._schedule = ScheduledFunction(settings.heartbeat_interval, self._run_heartbeat, f"{name}-heartbeat")
        self._claim = claim_heartbeat
        self._users = 0
        self._lock = threading.Lock()

    def _run_heartbeat(self) -> None:
        if self._claim is not None and not self._claim():
            return
        if self.heartbeat.run().expired:
            self.host.wake()

    def handle(self) -> FunctionHost:
        """A client's use of the functions: they run while any client has started its handle."""
        return _Handle(self)

    def acquire(self) -> None:
        with self._lock:
            self._users += 1
            if self._users == 1:
                self.host.start()
                self._schedule.start()

    def release(self) -> None:
        with self._lock:
            self._users -= 1
            if self._users > 0:
                return
        self.stop()

    def stop(self) -> None:
        self._schedule.stop()
        self.host.stop()
        self.watch.close()


class _Handle(FunctionHost):
    def __init__(self, functions: EmbeddedFunctions) -> None:
        self._functions = functions
        self._started = False

    def start(self) -> None:
        if not self._started:
            self._started = True
            self._functions.acquire()

    def wake(self) -> None:
        self._functions.host.wake()

    def stop(self) -> None:
        if self._started:
            self._started = False
            self._functions.release()
