"""The watch function: finds the watches a committed write fires and delivers their notifications.

Runs inside the distributor's step for the write, after user storage is updated and before the
writer's client is answered, so notifications reach each client in transaction order and a
client hears of a change to a watched node before the reply of the write that made it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from faaskeeper import paths
from faaskeeper.api.channel import ClientChannel
from faaskeeper.api.storage import SystemStorage, WatchRecord
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.messages import Op
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.watch import FIRES, WatchEventType

log = logging.getLogger("faaskeeper.watch")


def events_of(op: Op, path: str) -> Iterator[tuple[str, WatchEventType]]:
    """The (path, event) pairs a write produces."""
    if op is Op.CREATE:
        yield path, WatchEventType.NODE_CREATED
        yield paths.parent(path), WatchEventType.NODE_CHILDREN_CHANGED
    elif op is Op.SET_DATA:
        yield path, WatchEventType.NODE_DATA_CHANGED
    elif op is Op.DELETE:
        yield path, WatchEventType.NODE_DELETED
        yield paths.parent(path), WatchEventType.NODE_CHILDREN_CHANGED


def notification(txn: int, path: str, event: WatchEventType) -> bytes:
    return json.dumps({"kind": "watch", "txn": txn, "path": path, "event": event.value}).encode()


class WatchFunction:
    def __init__(
        self, system: SystemStorage, channel: ClientChannel, settings: FunctionSettings, *, parallelism: int = 16
    ) -> None:
        self._system = system
        self._channel = channel
        self._settings = settings
        self._parallelism = parallelism
        self._pool: ThreadPoolExecutor | None = None

    def fire(self, op: Op, path: str, txn: int) -> None:
        """Deliver every notification write ``txn`` owes, then remove the fired watches.

        Removal comes last: if this dies midway, the redelivered write delivers again and
        clients drop the duplicates."""
        deliveries: dict[tuple[str, str, WatchEventType], str] = {}
        fired: list[WatchRecord] = []
        for target, event in events_of(op, path):
            for watch in self._system.triggered_watches(target, FIRES[event], txn):
                fired.append(watch)
                deliveries[(watch.session_id, target, event)] = watch.address
        if not fired:
            return
        self._settings.fault("watch.deliver")
        messages = [(address, notification(txn, target, event)) for (_, target, event), address in deliveries.items()]
        self._deliver(messages)
        self._settings.fault("watch.delivered")
        self._system.remove_watches(fired)

    def _deliver(self, messages: list[tuple[str, bytes]]) -> None:
        by_client: dict[str, list[bytes]] = {}
        for address, message in messages:
            by_client.setdefault(address, []).append(message)
        if len(by_client) == 1:
            for address, batch in by_client.items():
                self._send(address, batch)
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._parallelism, thread_name_prefix="faaskeeper-watch")
        list(self._pool.map(lambda item: self._send(*item), by_client.items()))

    def _send(self, address: str, batch: list[bytes]) -> None:
        for message in batch:
            try:
                self._channel.send(address, message)
            except ProviderException as err:
                log.warning("watch notification to %s not delivered: %s", address, err)
                return

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
