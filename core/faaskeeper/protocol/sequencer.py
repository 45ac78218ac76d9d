"""Transaction ids for a distributor queue that numbers no messages: a log in system storage.

A queue such as Pub/Sub assigns no sequence numbers, and messages of one ordering key are
ordered only per publisher, while writers publish from many function instances. So the order
is not the queue's but this log's, kept as items of system storage
(:meth:`~faaskeeper.api.storage.SystemStorage.write_items`):

* ``send`` appends the event to the log in ONE atomic batch of items: the counter ``(log,)``
  goes from ``next`` to ``next + 1`` (conditional on its version), the record
  ``(log, "records", <next + 1>)`` is created with the body, and so is a deduplication item
  ``(log, "dedup", <digest of the dedup_id>)``. ``next + 1`` is the transaction id. Because
  counter and record are written together, every id up to ``next`` has its record: the log has
  no gaps. Then a doorbell naming the id is rung (on Pub/Sub: a message on the distributor's
  topic); a doorbell that fails is only logged, as the next one (or the heartbeat's) also
  drains this record.
* The distributor function, on a doorbell for id ``n``, reads the cursor (``(cursor,)``,
  ``applied``) and handles every record from ``applied + 1`` to ``n`` in id order, advancing the
  cursor and deleting the record in one batch after each. A doorbell at or below the cursor is
  acknowledged without effect; one above ``next`` (forged) drains only what exists.

Why writes stay linearizable: ids are allocated by a conditional write on one item, so they are
unique and totally ordered, and a write that starts after another one completed (its client was
answered, which happens only after the distributor applied it) reads a larger counter. The
distributor applies records strictly in id order whatever order doorbells arrive in, so user
storage moves through the same total order, and so do notifications. Per-session FIFO: a
session's requests reach the writer one at a time (the next after the last was acknowledged),
so its events are allocated increasing ids and applied in that order.

Redelivery: a redelivered doorbell finds the cursor past it; a record handled but whose cursor
batch failed is handled again, which the core's distributor tolerates (an event no longer
pending is skipped). Where the platform delivers one doorbell at a time, one distributor runs at
a time; should two overlap anyway, both walk the log from the cursor in id order and the
cursor's condition lets one advance each record.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from faaskeeper.api.queue import Queue, QueueMessage
from faaskeeper.api.storage import CreateItem, DeleteItem, Item, ItemKey, SystemStorage, UpdateItem
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage

log = logging.getLogger("faaskeeper.sequencer")

#: Records handled per read of the log.
PAGE = 50
#: Attempts at an append whose counter keeps changing under it.
CYCLES = 50


def record_id(seq: int) -> str:
    """A record's name: the id, zero-padded so that names sort as ids do."""
    return f"{seq:020d}"


class SequencedLog:
    """The log of one queue in system storage: gapless increasing ids, drained in id order.

    With ``fewer_reads`` (for a storage that bills each item read) an append first tries its
    batch on the counter as this log object last wrote or read it, reading it only once that
    batch failed, and a drain reads the cursor and the records, and the counter only if a record
    is missing (to tell a record lost below the counter from a doorbell naming an id above it).
    Either way a stale view costs a failed conditional write or one more read, never a wrong id."""

    def __init__(
        self, storage: SystemStorage, name: str = "distributor", cursor: str = "cursor", *, fewer_reads: bool = False
    ) -> None:
        self._storage = storage
        self.name = name
        self._counter: ItemKey = (name,)
        self._cursor: ItemKey = (cursor,)
        self._fewer_reads = fewer_reads
        #: The counter as last written or read here (with ``fewer_reads``).
        self._known_counter: Item | None = None

    def _record(self, seq: int) -> ItemKey:
        return (self.name, "records", record_id(seq))

    def _dedup(self, dedup_id: str) -> ItemKey:
        return (self.name, "dedup", hashlib.sha256(dedup_id.encode()).hexdigest())

    def _missing(self) -> ProviderException:
        return ProviderException(f"The {self.name} log is missing: is the service deployed?")

    def ensure(self) -> None:
        """Create the counter and the cursor (a new deployment); those that exist are kept."""
        self._storage.write_items([CreateItem(self._counter, {"next": 0})])
        self._storage.write_items([CreateItem(self._cursor, {"applied": 0})])

    # -- the writer's side ----------------------------------------------------------------

    def append(self, body: bytes, group: str, dedup_id: str) -> int:
        """Append ``body``; its id. An append retried with the same ``dedup_id`` (while its record
        is in the log) gets the id of the first and appends nothing."""
        dedup = self._dedup(dedup_id)
        for attempt in range(CYCLES):
            # The deduplication item is created with the record, conditional on its absence, so it
            # needs reading only once a batch failed: a retried append finds it there.
            known = self._known_counter if attempt == 0 else None
            if known is not None:
                counter: Item | None = known
                seen: list[Item | None] = []
            else:
                keys = [self._counter] if attempt == 0 else [self._counter, dedup]
                counter, *seen = self._storage.read_items(keys)
            if counter is None:
                raise self._missing()
            if seen and seen[0] is not None:
                return int(seen[0].value["seq"])  # a retried append of the same event
            seq = int(counter.value["next"]) + 1
            written = self._storage.write_items(
                [
                    UpdateItem(self._counter, {"next": seq}, counter.version),
                    CreateItem(self._record(seq), {"body": body, "group": group, "dedup": dedup[-1]}),
                    CreateItem(dedup, {"seq": seq}),
                ]
            )
            if self._fewer_reads:
                self._known_counter = None if written is None else Item(self._counter, {"next": seq}, written[0])
            if written is not None:
                return seq
        raise ProviderException(
            f"Appending to the {self.name} log failed: its counter kept changing ({CYCLES} attempts)"
        )

    # -- the distributor's side -----------------------------------------------------------

    def _read_positions(self) -> tuple[Item, Item]:
        """The counter and the cursor, read together."""
        counter, cursor = self._storage.read_items([self._counter, self._cursor])
        if counter is None or cursor is None:
            raise self._missing()
        return counter, cursor

    def positions(self) -> tuple[int, int]:
        """(last id allocated, last id applied)."""
        counter, cursor = self._read_positions()
        return int(counter.value["next"]), int(cursor.value["applied"])

    def drain(
        self,
        upto: int,
        handle: Callable[[QueueMessage], None],
        dead_letter: Callable[[QueueMessage, str], None],
    ) -> int:
        """Handle every record after the cursor up to ``upto`` in id order; how many were handled.

        ``handle`` raising MalformedMessage sends the record to ``dead_letter`` and goes on; any
        other exception stops the drain with the record still in the log (handled again next time).
        Records allocated after the drain began are left to their own doorbells."""
        if self._fewer_reads:
            (cursor,) = self._storage.read_items([self._cursor])
            if cursor is None:
                raise self._missing()
            last = upto
        else:
            counter, cursor = self._read_positions()
            last = min(upto, int(counter.value["next"]))
        applied = int(cursor.value["applied"])
        since = cursor.version
        handled = 0
        while applied < last:
            ids = list(range(applied + 1, min(last, applied + PAGE) + 1))
            for seq, record in zip(ids, self._storage.read_items([self._record(i) for i in ids]), strict=True):
                if record is None:
                    if self._fewer_reads and seq > self.positions()[0]:
                        return handled  # the doorbell named an id never allocated
                    raise ProviderException(f"The {self.name} log lacks record {seq} below its counter")
                self._handle(seq, record, handle, dead_letter)
                written = self._storage.write_items(
                    [
                        UpdateItem(self._cursor, {"applied": seq}, since),
                        DeleteItem(record.key),
                        DeleteItem((self.name, "dedup", str(record.value["dedup"]))),
                    ]
                )
                if written is None:
                    # Another distributor moved the cursor: go on from where it is.
                    return handled + self.drain(upto, handle, dead_letter)
                since = written[0]
                applied = seq
                handled += 1
        return handled

    def _handle(
        self,
        seq: int,
        record: Item,
        handle: Callable[[QueueMessage], None],
        dead_letter: Callable[[QueueMessage, str], None],
    ) -> None:
        body = record.value["body"]
        message = QueueMessage(
            body=body if isinstance(body, bytes) else str(body).encode(),
            sequence=seq,
            group=str(record.value["group"]),
            message_id=record_id(seq),
        )
        try:
            handle(message)
        except MalformedMessage as err:
            log.error("dead-lettering %s record %d: %s", self.name, seq, err)
            dead_letter(message, str(err))


class SequencedQueue(Queue):
    """A queue whose sequence numbers are a :class:`SequencedLog`'s ids; each send rings a
    doorbell (``ring(id)``: the platform's message that has the log drained up to the id)."""

    def __init__(self, log: SequencedLog, ring: Callable[[int], None]) -> None:
        self.log = log
        self._ring = ring

    def ensure(self) -> None:
        self.log.ensure()

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        seq = self.log.append(body, group, dedup_id)
        try:
            self.ring(seq)
        except ProviderException as err:
            log.warning("doorbell for transaction %d not rung (the next one drains it): %s", seq, err)
        return seq

    def ring(self, seq: int) -> None:
        """Ring a doorbell: the distributor drains the log up to ``seq``."""
        self._ring(seq)

    def positions(self) -> tuple[int, int]:
        """(last id allocated, last id applied)."""
        return self.log.positions()

    def drain(
        self,
        upto: int,
        handle: Callable[[QueueMessage], None],
        dead_letter: Callable[[QueueMessage, str], None],
    ) -> int:
        """See :meth:`SequencedLog.drain`."""
        return self.log.drain(upto, handle, dead_letter)
