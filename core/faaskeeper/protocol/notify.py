"""The distributor's part of watches: finds the watches a committed write fires and has their
notifications delivered, then removes them.

It runs inside the distributor's step for the write, after user storage is updated and before
the writer's client is answered, and waits for the delivery to finish whoever makes it, so
notifications reach each client in transaction order and a client hears of a change to a
watched node before the reply of the write that made it.

Who delivers: the distributor itself (:class:`~faaskeeper.protocol.watch_function.WatchFunction`
in its own process) when the write notifies at most ``watch_fanout`` clients, which costs no
extra invocation; the deployment's watch function, invoked synchronously, when it notifies more.

If invoking the watch function fails (throttled, timed out, missing, refused), the distributor
delivers the notifications itself rather than failing its message. Both keep every guarantee,
since the distributor still waits for the delivery before it removes the watches and answers;
but the distributor queue is one FIFO group, so a failed message would hold up every later
write for a visibility timeout, and a watch function that keeps failing would send committed
writes to the dead-letter queue unanswered. Whatever the failed invocation did deliver is sent
again, and clients drop the duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence

from faaskeeper import paths
from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.storage import SystemStorage, WatchKind, WatchRecord, WatchTally
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import Op
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.watch_delivery import ClientEvents, DeliveryReport, WatchDelivery
from faaskeeper.protocol.watch_function import WatchFunction, WatchInvoker
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


def fired_watches(
    system: SystemStorage,
    changes: Sequence[tuple[Op, str]],
    txn: int,
    tallies: Mapping[str, WatchTally] | None = None,
) -> tuple[list[WatchRecord], WatchDelivery]:
    """The watches write ``txn`` fires, and the notifications it owes: one per session and
    event (a session told of a change fires all its watches the change concerns), by client.
    ``changes`` are the write's operations, in order: a transaction fires the watches of each,
    every watch once, on the first event that concerns it (as ZooKeeper's one-shot watches).

    ``tallies``, the watch tallies the write's claim read: a data change of a node whose tally
    is quiet fires nothing, and is not looked up; one that finds nothing to fire settles the
    tally, so the node's next writes need not look."""
    fired: list[WatchRecord] = []
    seen: set[tuple[str, WatchKind, str]] = set()
    owed: dict[str, dict[tuple[str, WatchEventType], None]] = {}
    events = dict.fromkeys(event for op, path in changes for event in events_of(op, path))
    for target, event in events:
        tally = (tallies or {}).get(target) if event is WatchEventType.NODE_DATA_CHANGED else None
        if tally is not None and tally.quiet:
            continue
        found = system.triggered_watches(target, FIRES[event], txn)
        if tally is not None and not found:
            system.settle_watches(target, tally.registered)
        for watch in found:
            if (watch.path, watch.kind, watch.session_id) in seen:
                continue
            seen.add((watch.path, watch.kind, watch.session_id))
            fired.append(watch)
            if watch.address:
                owed.setdefault(watch.address, {})[(target, event)] = None
    clients = tuple(ClientEvents(address, tuple(events)) for address, events in owed.items())
    return fired, WatchDelivery(txn, clients)


class Notifier:
    def __init__(
        self,
        system: SystemStorage,
        channel: ChannelSender,
        settings: FunctionSettings,
        watch_function: WatchInvoker | None = None,
    ) -> None:
        """``watch_function``: the deployment's watch function, for fan-outs over the settings'
        ``watch_fanout``; without one the distributor delivers every fan-out itself."""
        self._system = system
        self._settings = settings
        self._local = WatchFunction(channel)
        self._remote = watch_function

    def fire(
        self, changes: Sequence[tuple[Op, str]], txn: int, tallies: Mapping[str, WatchTally] | None = None
    ) -> None:
        """Deliver every notification write ``txn`` owes, then remove the fired watches
        (``tallies``: see :func:`fired_watches`).

        Removal comes last: if this dies midway, the redelivered write delivers again and
        clients drop the duplicates."""
        fired, delivery = fired_watches(self._system, changes, txn, tallies)
        if not fired:
            return
        self._settings.fault("watch.deliver")
        report = self._deliver(delivery) if delivery.clients else DeliveryReport(txn, 0)
        for missed in report.undelivered:
            log.warning("%d notifications of transaction %d not delivered to %s", missed.messages, txn, missed.address)
        self._settings.fault("watch.delivered")
        self._system.remove_watches(fired)

    def _deliver(self, delivery: WatchDelivery) -> DeliveryReport:
        if self._remote is not None and len(delivery.clients) > self._settings.watch_fanout:
            try:
                return self._remote.invoke(delivery)
            except (ProviderException, MalformedMessage) as err:
                log.warning(
                    "watch function failed on transaction %d (%s); the distributor delivers to its %d clients",
                    delivery.txn,
                    err,
                    len(delivery.clients),
                )
        return self._local.deliver(delivery)

    def close(self) -> None:
        self._local.close()
