"""Publishing to a deployment's Pub/Sub topics, the writer queue as the core's :class:`Queue`, and
the distributor's doorbells.

The writer queue is the ``writer`` topic; each session's requests carry the session id as their
ordering key, so its push subscription (``enable_message_ordering``) delivers them one at a time,
in order, the next only after the last was acknowledged: FIFO per session. Push requests do not
show the ordering key, so the group also travels in the ``fk-group`` attribute.

Pub/Sub assigns no sequence numbers and deduplicates nothing. The writer needs neither: a
redelivered request is recognised by its per-session sequence number. Transaction ids come
from the distributor queue: the core's sequenced log (:mod:`faaskeeper.protocol.sequencer`) in
Firestore, whose doorbells are messages on the ``distributor`` topic, all of one ordering key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

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
#: Seconds to wait for the service to accept a published message.
PUBLISH_TIMEOUT = 30.0
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
        self, topic: str, data: bytes, ordering_key: str = "", attributes: Mapping[str, str] | None = None
    ) -> str:
        """Publish and wait until the service has it; the message id."""
        attrs = {k: v[:_ATTRIBUTE_LIMIT] for k, v in (attributes or {}).items()}
        path = self.path(topic)
        count_publish(data, attrs)
        publisher = self._settings.publisher()
        with gcp_errors(f"publish to {topic}"):
            future = publisher.publish(path, data, ordering_key=ordering_key, **attrs)
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
        message_id = self._topics.publish(
            self.topic, body, ordering_key=group, attributes={GROUP_ATTRIBUTE: group, DEDUP_ATTRIBUTE: dedup_id}
        )
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
