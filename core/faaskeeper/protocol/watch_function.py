"""The watch function: delivers a batch of watch notifications to the clients that registered them.

It takes a :class:`~faaskeeper.protocol.watch_delivery.WatchDelivery` (one write's notifications
by client), sends each client its messages in order, clients in parallel, and reports what it
sent. It holds no state and touches no storage: it needs only the client channel, and running a
request twice sends its messages twice, which clients drop (a notification fires only the watches
held from before its transaction).

The distributor runs it in its own process for small fan-outs; a provider's watch function entry
point runs it for the fan-outs the distributor hands over (:class:`WatchInvoker`).
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from faaskeeper.api.channel import ChannelSender
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.watch_delivery import (
    ClientEvents,
    DeliveryReport,
    Undelivered,
    WatchDelivery,
    notification,
)

log = logging.getLogger("faaskeeper.watch")


class WatchFunction:
    def __init__(self, channel: ChannelSender, *, parallelism: int = 16) -> None:
        self._channel = channel
        self._parallelism = parallelism
        self._pool: ThreadPoolExecutor | None = None

    def handle(self, payload: object) -> dict[str, Any]:
        """An invocation: the request's JSON object in, the report's JSON object out. A payload
        that is not a valid request raises MalformedMessage, and nothing is sent."""
        return self.deliver(WatchDelivery.from_json(payload)).to_json()

    def deliver(self, request: WatchDelivery) -> DeliveryReport:
        """Send each client its messages in order, clients in parallel; a client that cannot be
        reached gets none of its messages after the one that failed (order is never broken)."""
        if len(request.clients) == 1:
            outcomes = [self._send(request.txn, request.clients[0])]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._parallelism, thread_name_prefix="faaskeeper-watch")
            outcomes = list(self._pool.map(lambda client: self._send(request.txn, client), request.clients))
        sent = sum(n for n, _ in outcomes)
        return DeliveryReport(request.txn, sent, tuple(u for _, u in outcomes if u is not None))

    def _send(self, txn: int, client: ClientEvents) -> tuple[int, Undelivered | None]:
        for index, (path, event) in enumerate(client.events):
            try:
                self._channel.send(client.address, notification(txn, path, event))
            except ProviderException as err:
                log.warning("watch notification to %s not delivered: %s", client.address, err)
                return index, Undelivered(client.address, len(client.events) - index, str(err))
        return len(client.events), None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None


class WatchInvoker(ABC):
    """How a distributor reaches its deployment's watch function (a provider's invocation)."""

    @abstractmethod
    def invoke(self, request: WatchDelivery) -> DeliveryReport:
        """Have the watch function deliver ``request`` and wait for its report. ProviderException
        if the invocation failed: then any part of the request may have been delivered."""


class InProcessWatchInvoker(WatchInvoker):
    """The watch function in this process, reached through the same JSON as a remote one (the
    functions of the local providers, and tests)."""

    def __init__(self, function: WatchFunction) -> None:
        self._function = function

    def invoke(self, request: WatchDelivery) -> DeliveryReport:
        payload = json.loads(request.encode())
        try:
            answer = self._function.handle(payload)
        except MalformedMessage as err:
            raise ProviderException(
                f"The watch function refused the delivery of transaction {request.txn}: {err}"
            ) from err
        return DeliveryReport.from_json(json.loads(json.dumps(answer)))
