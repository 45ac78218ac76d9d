"""The writer and distributor queues on SQS FIFO, as the core's :class:`PollingQueue`.

``send`` returns the message's SQS sequence number, which on the distributor queue is the
transaction id. Bodies travel through :class:`~faaskeeper_aws.queues.payload.PayloadStore` (base64, or
offloaded to S3 when too large). On AWS the queues are consumed by Lambda (see
:mod:`faaskeeper_aws.functions.handlers`); ``receive``/``ack``/``release`` serve the core's polling host and
the conformance suite.

SQS may return messages of several groups in one ``ReceiveMessage``, while a ``receive`` here
returns one group's messages: the others stay in flight, held in a local buffer and returned by
the next ``receive`` while their visibility timeout lasts (after it, SQS delivers them again).
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.queues.payload import Decoded, PayloadStore
from faaskeeper_aws.settings import AwsSettings

log = logging.getLogger("faaskeeper.aws.sqs")

#: What SQS accepts as a MessageGroupId or MessageDeduplicationId.
_FIFO_TOKEN = re.compile(r"^[!-~]{1,128}$")
#: SQS's longest visibility timeout (12 hours).
MAX_VISIBILITY = 43200
#: Seconds before a buffered message's visibility timeout ends that it is no longer handed out.
_BUFFER_MARGIN = 0.25
#: Message attributes of a dead-lettered message.
REASON_ATTRIBUTE = "fk-reason"
SOURCE_ATTRIBUTE = "fk-source-queue"
SEQUENCE_ATTRIBUTE = "fk-sequence"


def fifo_token(value: str) -> str:
    """``value`` as a valid group or deduplication id: itself, or its SHA-256 if SQS would refuse it."""
    return value if _FIFO_TOKEN.match(value) else hashlib.sha256(value.encode()).hexdigest()


def seconds(value: float) -> int:
    """A duration as the whole seconds SQS takes, rounded up so nothing shows before it is due."""
    return max(0, min(MAX_VISIBILITY, math.ceil(value)))


def sqs_client(settings: AwsSettings) -> MeteredClient:
    return MeteredClient(settings.client("sqs"), "sqs")


def string_attribute(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value or "-"}


class QueueUrls:
    """Queue names to URLs, resolved with GetQueueUrl on first use and cached."""

    def __init__(self, sqs: MeteredClient) -> None:
        self._sqs = sqs
        self._urls: dict[str, str] = {}
        self._guard = threading.Lock()

    def __call__(self, name: str) -> str:
        with self._guard:
            url = self._urls.get(name)
        if url is None:
            with aws_errors(f"find the queue {name}"):
                url = str(self._sqs.get_queue_url(QueueName=name)["QueueUrl"])
            with self._guard:
                self._urls[name] = url
        return url


def to_message(raw: dict[str, Any], body: bytes) -> QueueMessage:
    """A received SQS message (ReceiveMessage with all system attributes) as a QueueMessage."""
    attributes = raw.get("Attributes", {})
    try:
        sequence = int(attributes["SequenceNumber"])
        group = str(attributes["MessageGroupId"])
        count = int(attributes.get("ApproximateReceiveCount", "1"))
    except (KeyError, ValueError) as err:
        raise ProviderException(f"SQS message {raw.get('MessageId')} lacks FIFO attributes: {err!r}") from err
    return QueueMessage(
        body=body,
        sequence=sequence,
        group=group,
        message_id=str(raw["MessageId"]),
        receive_count=count,
        receipt=str(raw["ReceiptHandle"]),
    )


@dataclass
class _Held:
    """What a received message needs later: its text for the dead-letter queue, its offloaded object."""

    text: str
    key: str | None


class SqsQueue(PollingQueue):
    def __init__(
        self, settings: AwsSettings, name: str, dead_letter_name: str, *, payloads: PayloadStore | None = None
    ) -> None:
        self.name = name
        self.dead_letter_name = dead_letter_name
        self._sqs = sqs_client(settings)
        self._urls = QueueUrls(self._sqs)
        self.payloads = payloads or PayloadStore(settings)
        self._guard = threading.Lock()
        self._held: dict[str, _Held] = {}
        self._buffer: list[tuple[float, QueueMessage]] = []

    @property
    def url(self) -> str:
        return self._urls(self.name)

    @property
    def dead_letter_url(self) -> str:
        return self._urls(self.dead_letter_name)

    # -- sending --------------------------------------------------------------------------

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        text = self.payloads.encode(body, self.name, dedup_id)
        with aws_errors(f"send a message to {self.name}"):
            response = self._sqs.send_message(
                QueueUrl=self.url,
                MessageBody=text,
                MessageGroupId=fifo_token(group),
                MessageDeduplicationId=fifo_token(dedup_id),
            )
        sequence = response.get("SequenceNumber")
        if sequence is None:
            raise ProviderException(f"Queue {self.name} returned no sequence number: it is not a FIFO queue")
        return int(sequence)

    def forward_dead_letter(self, text: str, group: str, message_id: str, sequence: int, reason: str) -> None:
        """Put a message (its SQS text as received) in this queue's dead-letter queue with ``reason``."""
        with aws_errors(f"dead-letter message {message_id} of {self.name}"):
            self._sqs.send_message(
                QueueUrl=self.dead_letter_url,
                MessageBody=text,
                MessageGroupId=fifo_token(group),
                MessageDeduplicationId=fifo_token(message_id),
                MessageAttributes={
                    REASON_ATTRIBUTE: string_attribute(reason[:1024]),
                    SOURCE_ATTRIBUTE: string_attribute(self.name),
                    SEQUENCE_ATTRIBUTE: string_attribute(str(sequence)),
                },
            )

    # -- polling --------------------------------------------------------------------------

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        buffered = self._from_buffer(max_messages)
        if buffered:
            return buffered
        hidden = seconds(visibility_timeout)
        with aws_errors(f"receive from {self.name}"):
            response = self._sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max(1, min(10, max_messages)),
                VisibilityTimeout=hidden,
                WaitTimeSeconds=0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
        received_at = time.monotonic()
        messages = [m for m in (self._accept(raw) for raw in response.get("Messages", [])) if m is not None]
        if not messages:
            return []
        group = messages[0].group
        mine = [m for m in messages if m.group == group][:max_messages]
        rest = [m for m in messages if m not in mine]
        if rest:
            with self._guard:
                self._buffer.extend((received_at + hidden - _BUFFER_MARGIN, m) for m in rest)
        return mine

    def _from_buffer(self, max_messages: int) -> list[QueueMessage]:
        with self._guard:
            now = time.monotonic()
            for _, expired in [(due, m) for due, m in self._buffer if due <= now]:
                self._held.pop(expired.receipt, None)  # SQS delivers it again
            self._buffer = [(due, m) for due, m in self._buffer if due > now]
            if not self._buffer:
                return []
            group = self._buffer[0][1].group
            taken = [m for _, m in self._buffer if m.group == group][:max_messages]
            self._buffer = [(due, m) for due, m in self._buffer if m not in taken]
            return taken

    def _accept(self, raw: dict[str, Any]) -> QueueMessage | None:
        """The received message decoded; None if its body is not ours (it is dead-lettered here)
        or its offloaded body cannot be fetched now (it shows again after its visibility timeout)."""
        text = str(raw.get("Body", ""))
        try:
            decoded = self.payloads.decode(text)
        except MalformedMessage as err:
            message = to_message(raw, b"")
            log.error("dead-lettering message %s of %s: %s", message.message_id, self.name, err)
            self.forward_dead_letter(text, message.group, message.message_id, message.sequence, str(err))
            self._delete(message.receipt)
            return None
        except ProviderException as err:
            log.warning("message %s of %s left for redelivery: %s", raw.get("MessageId"), self.name, err)
            return None
        message = to_message(raw, decoded.body)
        with self._guard:
            self._held[message.receipt] = _Held(text, decoded.key)
        return message

    def _settled(self, message: QueueMessage) -> _Held:
        with self._guard:
            held = self._held.pop(message.receipt, None)
        return held if held is not None else _Held("", None)

    def _delete(self, receipt: str) -> None:
        with aws_errors(f"delete a message from {self.name}"):
            self._sqs.delete_message(QueueUrl=self.url, ReceiptHandle=receipt)

    def ack(self, message: QueueMessage) -> None:
        held = self._settled(message)
        self._delete(message.receipt)
        self.payloads.discard(held.key)

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        self._settled(message)
        with aws_errors(f"release a message of {self.name}"):
            self._sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=message.receipt, VisibilityTimeout=seconds(delay)
            )

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        held = self._settled(message)
        text = held.text or self.payloads.encode(message.body, self.dead_letter_name, message.message_id)
        self.forward_dead_letter(text, message.group, message.message_id, message.sequence, reason)
        self._delete(message.receipt)

    def depth(self) -> int:
        with aws_errors(f"count the messages of {self.name}"):
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                    "ApproximateNumberOfMessagesDelayed",
                ],
            )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def decode(self, text: str) -> Decoded:
        """A message text as Lambda delivers it, decoded (MalformedMessage if it is not ours)."""
        return self.payloads.decode(text)
