"""A deployment's Firestore documents, with every request metered and its errors translated.

All of a deployment lives below the document ``faaskeeper/<deployment>``: subcollections
``nodes`` (system storage), ``sessions``, ``watches``, ``data`` (user storage) and ``queues``
(the distributor's log, see :mod:`faaskeeper.protocol.sequencer`). Removing the deployment is one
recursive delete of that document.

Conditional writes use preconditions, never transactions: a write that must not overwrite a
change it has not seen carries ``last_update_time`` of the snapshot it was computed from (or
``exists=False`` for a create), and a batch of such writes is atomic. A failed precondition
returns False and the caller re-reads; the emulator's transactions instead wait 2 s on a lock
under contention. ABORTED, which the emulator also returns for plain writes, is retried here.
"""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeAlias, TypeVar

from google.cloud import firestore
from google.cloud.firestore_v1.base_document import DocumentSnapshot
from google.cloud.firestore_v1.document import DocumentReference

from faaskeeper.exceptions import ProviderException
from faaskeeper.metering import Meter
from faaskeeper_gcp.cost.metering import METER
from faaskeeper_gcp.errors import Conflict, NotFound, Transient, gcp_errors
from faaskeeper_gcp.settings import GcpSettings

T = TypeVar("T")
#: A document as read (the SDK's type is generic in its reference).
Snapshot: TypeAlias = "DocumentSnapshot[Any]"

#: The longest document id Firestore accepts, in bytes.
MAX_ID = 1500
#: Attempts at a request that the emulator aborted or that failed in transit.
ATTEMPTS = 8
#: Attempts at a read-decide-write cycle whose condition keeps failing.
CYCLES = 50


def document_id(path: str) -> str:
    """A node path as a document id: '/' may not appear in one, so paths are percent-encoded.

    An id longer than Firestore takes (1500 bytes) is the path's SHA-256 after a ``~``, which no
    encoded path begins with (every path begins with '/', encoded ``%2F``)."""
    encoded = urllib.parse.quote(path, safe="")
    if len(encoded) <= MAX_ID:
        return encoded
    return "~" + hashlib.sha256(path.encode()).hexdigest()


def backoff(attempt: int) -> None:
    time.sleep(min(0.05, 0.001 * 2**attempt))


class Batch:
    """Writes committed together, atomically; each conditional on what its caller read."""

    def __init__(self, documents: Documents) -> None:
        self._documents = documents
        self._batch = documents.db.batch()
        self.writes = 0
        self.deletes = 0
        #: The update time of each write, in order, once committed.
        self.update_times: list[datetime] = []

    def create(self, ref: DocumentReference, data: dict[str, Any]) -> None:
        self._batch.create(ref, data)
        self.writes += 1

    def set(self, ref: DocumentReference, data: dict[str, Any]) -> None:
        """Write ``ref`` whether or not it exists."""
        self._batch.set(ref, data)
        self.writes += 1

    def update(self, ref: DocumentReference, data: dict[str, Any], seen: Snapshot | datetime) -> None:
        """Update ``ref`` only if unchanged since the snapshot ``seen`` (or since it was last
        written at the update time ``seen``)."""
        since = seen if isinstance(seen, datetime) else seen.update_time
        self._batch.update(ref, data, option=self._documents.db.write_option(last_update_time=since))
        self.writes += 1

    def delete(self, ref: DocumentReference, seen: Snapshot | None = None) -> None:
        option = self._documents.db.write_option(last_update_time=seen.update_time) if seen is not None else None
        self._batch.delete(ref, option=option)
        self.deletes += 1

    def commit(self, action: str) -> bool:
        """True if every write was applied; False (nothing applied) if a condition failed."""
        if not self.writes and not self.deletes:
            return True
        meter = self._documents.meter
        meter.add("firestore", "requests")
        with gcp_errors(action):
            try:
                results = self._batch.commit()
            except (*Conflict, NotFound):
                return False
        self.update_times = [r.update_time for r in results]
        meter.add("firestore", "writes", self.writes)
        meter.add("firestore", "deletes", self.deletes)
        return True


class Documents:
    """The deployment's root document and its subcollections."""

    def __init__(self, settings: GcpSettings, meter: Meter = METER) -> None:
        self.db: firestore.Client = settings.firestore()
        self.meter = meter
        self.root: DocumentReference = self.db.collection(settings.names.root_collection).document(
            settings.names.root_document
        )

    def collection(self, name: str) -> firestore.CollectionReference:
        collection: firestore.CollectionReference = self.root.collection(name)
        return collection

    def call(self, action: str, call: Callable[[], T]) -> T:
        """``call()``'s result, retried while it fails transiently; ProviderException naming ``action``."""
        self.meter.add("firestore", "requests")
        with gcp_errors(action):
            for attempt in range(ATTEMPTS):
                try:
                    return call()
                except Transient:
                    if attempt == ATTEMPTS - 1:
                        raise
                    backoff(attempt)
        raise AssertionError("unreachable")

    def get(self, ref: DocumentReference, action: str) -> Snapshot:
        self.meter.add("firestore", "reads")
        return self.call(action, ref.get)

    def get_all(self, refs: Sequence[DocumentReference], action: str) -> list[Snapshot]:
        """Snapshots of ``refs`` in their order, in one request."""
        if not refs:
            return []
        self.meter.add("firestore", "reads", len(refs))
        found = {s.reference.path: s for s in self.call(action, lambda: list(self.db.get_all(list(refs))))}
        return [found[r.path] for r in refs]

    def query(self, query: Any, action: str) -> list[Snapshot]:
        snapshots = self.call(action, lambda: list(query.stream()))
        self.meter.add("firestore", "reads", max(1, len(snapshots)))
        return snapshots

    def count(self, query: Any, action: str) -> int:
        results: Any = self.call(action, lambda: query.count().get())
        total = int(results[0][0].value)
        self.meter.add("firestore", "reads", max(1, -(-total // 1000)))
        return total

    def set(self, ref: DocumentReference, data: dict[str, Any], action: str) -> None:
        self.call(action, lambda: ref.set(data))
        self.meter.add("firestore", "writes")

    def create(self, ref: DocumentReference, data: dict[str, Any], action: str) -> bool:
        """Create ``ref``; False if it exists."""
        batch = self.batch()
        batch.create(ref, data)
        return batch.commit(action)

    def update(self, ref: DocumentReference, data: dict[str, Any], seen: Snapshot, action: str) -> bool:
        """Update ``ref`` if unchanged since ``seen``; False if it changed or is gone."""
        batch = self.batch()
        batch.update(ref, data, seen)
        return batch.commit(action)

    def delete(self, ref: DocumentReference, action: str, seen: Snapshot | None = None) -> bool:
        batch = self.batch()
        batch.delete(ref, seen)
        return batch.commit(action)

    def batch(self) -> Batch:
        return Batch(self)

    def recursive_delete(self, action: str) -> int:
        """Delete the root document and everything below it; the number of documents deleted."""
        deleted = int(self.call(action, lambda: self.db.recursive_delete(self.root)))
        self.meter.add("firestore", "deletes", deleted)
        return deleted


def cycles() -> range:
    """The attempts of a read-decide-write cycle; raise :func:`exhausted` after the last."""
    return range(CYCLES)


def exhausted(what: str) -> ProviderException:
    return ProviderException(f"GCP {what} failed: the documents kept changing ({CYCLES} attempts)")
