"""The distributor queue: transaction ids from a Firestore counter, delivery by Pub/Sub doorbells.

Pub/Sub assigns no sequence numbers, and messages of one ordering key are ordered only per
publisher, while writers publish from many function instances. So the order is not Pub/Sub's:

* ``send`` appends the event to a log in Firestore in ONE atomic batch: the counter document
  ``queues/distributor`` goes from ``next`` to ``next + 1`` (conditional on its update time), the
  record ``queues/distributor/records/<next + 1>`` is created with the body, and so is a
  deduplication document for the ``dedup_id``. ``next + 1`` is the transaction id. Because counter
  and record are written together, every id up to ``next`` has its record: the log has no gaps.
  Then a doorbell naming the id is published to the ``distributor`` topic (ordering key
  ``distributor``); a doorbell that fails to publish is only logged, as the next one (or the
  heartbeat's) also drains this record.
* The distributor function, on a doorbell for id ``n``, reads its cursor (``queues/cursor``,
  ``applied``) and handles every record from ``applied + 1`` to ``n`` in id order, advancing the
  cursor and deleting the record in one batch after each. A doorbell at or below the cursor is
  acknowledged without effect; one above ``next`` (forged) drains only what exists.

Why writes stay linearizable: ids are allocated by a conditional write on one document, so they
are unique and totally ordered, and a write that starts after another one completed (its client
was answered, which happens only after the distributor applied it) reads a larger counter. The
distributor applies records strictly in id order whatever order doorbells arrive in, so user
storage moves through the same total order, and so do notifications. Per-session FIFO: a
session's requests reach the writer one at a time (ordering key = session id, the next after the
last was acknowledged), so its events are allocated increasing ids and applied in that order.

Redelivery: a redelivered doorbell finds the cursor past it; a record handled but whose cursor
batch failed is handled again, which the core's distributor tolerates (an event no longer pending
is skipped). The push subscription's ack deadline exceeds the function's timeout, so a doorbell
is not redelivered while its invocation runs, and deliveries of one ordering key are serial:
one distributor runs at a time. Should two overlap anyway, both walk the log from the cursor in
id order and the cursor's condition lets one advance each record.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

from google.cloud.firestore_v1.document import DocumentReference

from faaskeeper.api.queue import Queue, QueueMessage
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper_gcp.firestore_base import Documents, Snapshot, cycles, exhausted
from faaskeeper_gcp.pubsub import SEQUENCE_ATTRIBUTE, Topics

log = logging.getLogger("faaskeeper.gcp.sequencer")

#: The ordering key of every doorbell.
DOORBELL_KEY = "distributor"
#: Records handled per read of the log.
_PAGE = 50


def record_id(seq: int) -> str:
    return f"{seq:020d}"


def doorbell_sequence(attributes: dict[str, str]) -> int:
    """The id a doorbell names; MalformedMessage if it names none."""
    raw = attributes.get(SEQUENCE_ATTRIBUTE, "")
    if not raw.isdigit():
        raise MalformedMessage(f"distributor doorbell without a transaction id ({SEQUENCE_ATTRIBUTE}={raw!r})")
    return int(raw)


class DistributorQueue(Queue):
    def __init__(self, documents: Documents, topics: Topics, topic: str) -> None:
        self._docs = documents
        self._topics = topics
        self.topic = topic
        queues = documents.collection("queues")
        self._counter = queues.document("distributor")
        self._cursor = queues.document("cursor")
        self._records = self._counter.collection("records")
        self._dedup = self._counter.collection("dedup")

    def ensure(self) -> None:
        """Create the counter and the cursor (a new deployment)."""
        self._docs.create(self._counter, {"next": 0}, "create the distributor log")
        self._docs.create(self._cursor, {"applied": 0}, "create the distributor log")

    def _dedup_ref(self, dedup_id: str) -> DocumentReference:
        ref: DocumentReference = self._dedup.document(hashlib.sha256(dedup_id.encode()).hexdigest())
        return ref

    # -- the writer's side ----------------------------------------------------------------

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        dedup = self._dedup_ref(dedup_id)
        for attempt in cycles():
            # The deduplication document is created with the record, conditional on its absence, so
            # it needs reading only once a batch failed: a retried send finds it there.
            if attempt == 0:
                counter, seen = self._docs.get(self._counter, "push to the distributor"), None
            else:
                counter, seen = self._docs.get_all([self._counter, dedup], "push to the distributor")
            if not counter.exists:
                raise ProviderException(f"GCP distributor log of {self.topic} is missing: is the service deployed?")
            if seen is not None and seen.exists:
                seq = int(seen.get("seq"))  # a retried send of the same event
                break
            seq = int(counter.get("next")) + 1
            batch = self._docs.batch()
            batch.update(self._counter, {"next": seq}, counter)
            batch.create(self._records.document(record_id(seq)), {"body": body, "group": group, "dedup": dedup.id})
            batch.create(dedup, {"seq": seq})
            if batch.commit("push to the distributor"):
                break
        else:
            raise exhausted("push to the distributor")
        try:
            self.ring(seq)
        except ProviderException as err:
            log.warning("doorbell for transaction %d not published (the next one drains it): %s", seq, err)
        return seq

    def ring(self, seq: int) -> None:
        """Publish a doorbell: the distributor drains the log up to ``seq``."""
        self._topics.publish(self.topic, b"", ordering_key=DOORBELL_KEY, attributes={SEQUENCE_ATTRIBUTE: str(seq)})

    # -- the distributor's side -----------------------------------------------------------

    def _read_log(self) -> tuple[Snapshot, Snapshot]:
        """The counter and the cursor, read together."""
        counter, cursor = self._docs.get_all([self._counter, self._cursor], "read the distributor log")
        if not counter.exists or not cursor.exists:
            raise ProviderException(f"GCP distributor log of {self.topic} is missing: is the service deployed?")
        return counter, cursor

    def positions(self) -> tuple[int, int]:
        """(last id allocated, last id applied)."""
        counter, cursor = self._read_log()
        return int(counter.get("next")), int(cursor.get("applied"))

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
        counter, cursor = self._read_log()
        applied, last = int(cursor.get("applied")), min(upto, int(counter.get("next")))
        since: Snapshot | datetime = cursor
        handled = 0
        while applied < last:
            ids = list(range(applied + 1, min(last, applied + _PAGE) + 1))
            refs = [self._records.document(record_id(i)) for i in ids]
            for seq, record in zip(ids, self._docs.get_all(refs, "read the distributor log"), strict=True):
                if not record.exists:
                    raise ProviderException(f"GCP distributor log lacks record {seq} below its counter")
                self._handle(seq, record, handle, dead_letter)
                batch = self._docs.batch()
                batch.update(self._cursor, {"applied": seq}, since)
                batch.delete(record.reference)
                batch.delete(self._dedup.document(str(record.get("dedup"))))
                if not batch.commit("advance the distributor cursor"):
                    # Another distributor moved the cursor: go on from where it is.
                    return handled + self.drain(upto, handle, dead_letter)
                since = batch.update_times[0]
                applied = seq
                handled += 1
        return handled

    @staticmethod
    def _handle(
        seq: int,
        record: Snapshot,
        handle: Callable[[QueueMessage], None],
        dead_letter: Callable[[QueueMessage, str], None],
    ) -> None:
        message = QueueMessage(
            body=bytes(record.get("body")), sequence=seq, group=str(record.get("group")), message_id=record_id(seq)
        )
        try:
            handle(message)
        except MalformedMessage as err:
            log.error("dead-lettering distributor record %d: %s", seq, err)
            dead_letter(message, str(err))
