"""Publishing to a deployment's Pub/Sub topics, the writer queue as the core's :class:`Queue`, and
the distributor's doorbells.

The writer queue is the ``writer`` topic; each session's requests carry the session id as their
ordering key, so its push subscription (``enable_message_ordering``) delivers them one at a time,
in order, the next only after the last was acknowledged: FIFO per session. Push requests do not
show the ordering key, so the group also travels in the ``fk-group`` attribute.

Pub/Sub assigns no sequence numbers and deduplicates nothing. The writer needs neither: a
redelivered request is recognised by its per-session sequence number. A request is published
with ``fk-publish``, the attempt at publishing it: a publish that failed may have reached Pub/Sub
all the same, and the next attempt is then a second message carrying the same request, which a
push presents as a first delivery. So the client library does not retry writer-queue publishes
itself (with ordering keys it would for as long as it takes); :meth:`PubSubQueue.send` does, for
up to PUBLISH_TIMEOUT seconds, numbering its attempts, and the writer takes a push's
``deliveryAttempt`` for the request's only on a message of the first attempt. Transaction ids come
from the distributor queue: the core's sequenced log (:mod:`faaskeeper.protocol.sequencer`) in
Firestore, whose doorbells are messages on the ``distributor`` topic, all of one ordering key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from google.api_core import exceptions as google_errors

from faaskeeper.api.queue import Queue
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper_gcp.cost.metering import count_publish
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.settings import GcpSettings

log = logging.getLogger("faaskeeper.gcp.pubsub")

GROUP_ATTRIBUTE = "fk-group"
DEDUP_ATTRIBUTE = "fk-dedup"
SEQUENCE_ATTRIBUTE = "fk-sequence"
REASON_ATTRIBUTE = "fk-reason"
SOURCE_ATTRIBUTE = "fk-source"
PUBLISH_ATTRIBUTE = "fk-publish"
#: Seconds before the first retry of a writer-queue publish, doubling up to the second figure.
PUBLISH_BACKOFF = 0.1
PUBLISH_BACKOFF_MAX = 2.0
#: Seconds to wait for the service to accept a published message.
PUBLISH_TIMEOUT = 30.0
#: The errors after which a writer-queue publish is tried again (those the client library retries).
RETRIED_PUBLISH_ERRORS = (
    google_errors.Aborted,
    google_errors.Cancelled,
    google_errors.DeadlineExceeded,
    google_errors.InternalServerError,
    google_errors.ResourceExhausted,
    google_errors.ServiceUnavailable,
    google_errors.Unknown,
)
#: Pub/Sub's limit on an attribute value.
_ATTRIBUTE_LIMIT = 1024
#: The ordering key of every distributor doorbell.
DOORBELL_KEY = "distributor"


class Topics:
    """Publishing to this deployment's topics, in order per ordering key."""

    def __init__(self, settings: GcpSettings) -> None:
        self._settings = settings

    def path(self, topic: str) -> str:
        return f"projects/{self._settings.project}/topics/{topic}"

    def publish(
        self,
        topic: str,
        data: bytes,
        ordering_key: str = "",
        attributes: Mapping[str, str] | None = None,
        *,
        retried: bool = True,
    ) -> str:
        """Publish and wait until the service has it; the message id. Without ``retried`` the
        client library makes one attempt only."""
        attrs = {k: v[:_ATTRIBUTE_LIMIT] for k, v in (attributes or {}).items()}
        path = self.path(topic)
        count_publish(data, attrs)
        publisher = self._settings.publisher()
        options: dict[str, Any] = {} if retried else {"retry": None}
        with gcp_errors(f"publish to {topic}"):
            future = publisher.publish(path, data, ordering_key=ordering_key, **options, **attrs)
            try:
                return str(future.result(timeout=PUBLISH_TIMEOUT))
            except Exception:
                if ordering_key:
                    # A failed publish pauses its ordering key until resumed; the caller retries.
                    publisher.resume_publish(path, ordering_key)
                raise

    def dead_letter(self, function: str, data: bytes, reason: str, attributes: Mapping[str, str]) -> None:
        """Keep a message that must never be applied in ``function``'s dead-letter topic, with why."""
        names = self._settings.names
        self.publish(
            names.dead_letter_topic(function),
            data,
            attributes={**attributes, REASON_ATTRIBUTE: reason or "-", SOURCE_ATTRIBUTE: names.topic(function)},
        )


class PubSubQueue(Queue):
    """The writer queue: FIFO per session through ordering keys."""

    def __init__(self, settings: GcpSettings, topics: Topics, function: str = "writer") -> None:
        self.topic = settings.names.topic(function)
        self._topics = topics

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        """Publish ``body`` in ``group``'s order. Returns the Pub/Sub message id as a number: it
        identifies the message but orders nothing (the protocol uses no writer-queue sequence)."""
        if not group:
            raise ProviderException("a writer-queue message needs a group (the session id)")
        deadline = time.monotonic() + PUBLISH_TIMEOUT
        attempt = 1
        while True:
            attributes = {GROUP_ATTRIBUTE: group, DEDUP_ATTRIBUTE: dedup_id, PUBLISH_ATTRIBUTE: str(attempt)}
            try:
                message_id = self._topics.publish(
                    self.topic, body, ordering_key=group, attributes=attributes, retried=False
                )
            except ProviderException as err:
                pause = min(PUBLISH_BACKOFF_MAX, PUBLISH_BACKOFF * 2 ** (attempt - 1))
                if not isinstance(err.__cause__, RETRIED_PUBLISH_ERRORS) or time.monotonic() + pause > deadline:
                    raise
                log.warning("publishing to %s failed (attempt %d), trying again: %s", self.topic, attempt, err)
                time.sleep(pause)
                attempt += 1
                continue
            return int(message_id) if message_id.isdigit() else 0


class Doorbells:
    """The distributor's doorbells: an empty message naming the transaction id up to which the
    distributor function drains the log."""

    def __init__(self, topics: Topics, topic: str) -> None:
        self._topics = topics
        self.topic = topic

    def ring(self, seq: int) -> None:
        self._topics.publish(self.topic, b"", ordering_key=DOORBELL_KEY, attributes={SEQUENCE_ATTRIBUTE: str(seq)})


def doorbell_sequence(attributes: Mapping[str, str]) -> int:
    """The id a doorbell names; MalformedMessage if it names none."""
    raw = attributes.get(SEQUENCE_ATTRIBUTE, "")
    if not raw.isdigit():
        raise MalformedMessage(f"distributor doorbell without a transaction id ({SEQUENCE_ATTRIBUTE}={raw!r})")
    return int(raw)
