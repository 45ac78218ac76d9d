"""One session of a client: the parts ``start()`` opens for it and what it keeps while it lives."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.client.applied import AppliedWrites
from faaskeeper.client.futures import CallbackRunner
from faaskeeper.client.pipeline import Pipeline
from faaskeeper.client.watches import WatchRegistry
from faaskeeper.exceptions import ConnectionLossException, FaaSKeeperException, SessionExpiredException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.leases import Lease

log = logging.getLogger("faaskeeper.client")


@dataclass(eq=False)
class Session:
    """A session registered (or being registered) with a deployment, and the parts it runs on:
    created together by ``start()``, released together by ``stop()``."""

    session_id: str
    #: The secret that proves the session's requests are its own.
    token: str
    deployment: Deployment
    #: Runs the deployment's functions in this process, for providers that need it.
    host: FunctionHost | None
    #: The client channel: results, watch notifications and pings arrive here.
    listener: ChannelListener
    #: The thread user callbacks run on.
    runner: CallbackRunner
    pipeline: Pipeline
    watches: WatchRegistry
    #: How far this session's reads have seen the distributor apply writes whole.
    applied: AppliedWrites = field(default_factory=AppliedWrites)
    #: The sequence number of the latest request sent.
    seq: int = 0
    #: The session's latest lease from the service, sent with every write.
    lease: Lease | None = None
    #: The first request the service refused because the session had ended: every later one
    #: is refused too (a session's requests are taken in order, and it never comes back).
    refused_from: int | None = None
    #: ``time.monotonic()`` of the latest ping from the service's heartbeat.
    last_ping: float = 0.0
    #: Watches for the service's heartbeats going silent, while the session keeps heartbeats.
    monitor: threading.Thread | None = None
    monitor_stop: threading.Event = field(default_factory=threading.Event)

    def take_lease(self, raw: object) -> None:
        """Keep a lease that arrived on the channel, if it lasts longer than the one held."""
        try:
            lease = Lease.from_wire(raw)
        except MalformedMessage:
            log.warning("ignoring a malformed lease on the client channel")
            return
        if self.lease is None or lease.until > self.lease.until:
            self.lease = lease

    def refused(self, seq: int) -> None:
        """The service refused request ``seq`` because the session had ended."""
        if self.refused_from is None or seq < self.refused_from:
            self.refused_from = seq

    def unanswered(self, seq: int) -> FaaSKeeperException:
        """What a write sent but not answered when the session is released completes with."""
        if self.refused_from is not None and seq > self.refused_from:
            return SessionExpiredException(f"Request {seq} was sent after the session ended")
        return ConnectionLossException(
            f"The session was released before request {seq} was answered: it may or may not have taken effect"
        )

    def release(self) -> None:
        """Complete every call still pending, drop the watches, and release the parts (the
        deployment last); the session's requests are not answered any more."""
        self.monitor_stop.set()
        if self.monitor is not None and self.monitor is not threading.current_thread():
            self.monitor.join(timeout=5)
        self.pipeline.abandon(self.unanswered, SessionExpiredException("The session was closed"))
        self.pipeline.stop()
        self.watches.drop_all()
        self.listener.stop()
        if self.host is not None:
            self.host.stop()
        self.runner.stop()
        self.deployment.close()
