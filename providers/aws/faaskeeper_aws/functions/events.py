"""Lambda's event shapes: SQS batches and scheduled events, built (emulator) and read (handlers).

An SQS record is exactly what Lambda's SQS event source delivers::

    {"messageId": ..., "receiptHandle": ..., "body": <message text>,
     "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": ..., "SenderId": ...,
                    "ApproximateFirstReceiveTimestamp": ..., "SequenceNumber": ...,
                    "MessageGroupId": ..., "MessageDeduplicationId": ...},
     "messageAttributes": {name: {"stringValue": ..., "stringListValues": [],
                                  "binaryListValues": [], "dataType": "String"}},
     "md5OfBody": ..., "eventSource": "aws:sqs", "eventSourceARN": <queue arn>,
     "awsRegion": ...}

and a handler answers a batch with ``{"batchItemFailures": [{"itemIdentifier": messageId}]}``.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from faaskeeper.api.queue import QueueMessage
from faaskeeper.protocol.codec import MalformedMessage

Event = dict[str, Any]


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [base64.b64encode(v).decode() for v in value.get("BinaryListValues", [])],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return out


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> Event:
    """One record of a Lambda SQS event, from a message ReceiveMessage returned (all attributes)."""
    record: Event = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {name: str(value) for name, value in message.get("Attributes", {}).items()},
        "messageAttributes": {
            name: _message_attribute(value) for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def sqs_event(messages: Iterable[dict[str, Any]], queue_arn: str, region: str) -> Event:
    return {"Records": [sqs_record(m, queue_arn, region) for m in messages]}


def scheduled_event(rule_arn: str, region: str) -> Event:
    """What EventBridge sends a scheduled rule's target."""
    account = rule_arn.split(":")[4] if rule_arn.count(":") >= 5 else "000000000000"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn] if rule_arn else [],
        "detail": {},
    }


def queue_message(record: Event) -> QueueMessage:
    """A record as the core's QueueMessage; its body is still the SQS message text (UTF-8).

    A record without the FIFO attributes cannot be ordered: MalformedMessage."""
    attributes = record.get("attributes", {})
    try:
        return QueueMessage(
            body=str(record["body"]).encode(),
            sequence=int(attributes["SequenceNumber"]),
            group=str(attributes["MessageGroupId"]),
            message_id=str(record["messageId"]),
            receive_count=int(attributes.get("ApproximateReceiveCount", "1")),
            receipt=str(record.get("receiptHandle", "")),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise MalformedMessage(f"not a record of an SQS FIFO queue: {err!r}") from err


def batch_response(failed: Iterable[QueueMessage]) -> Event:
    return {"batchItemFailures": [{"itemIdentifier": m.message_id} for m in failed]}


class LambdaContext:
    """The ``context`` argument of a handler, as far as FaaSKeeper's handlers (and logs) use it."""

    def __init__(self, function_name: str, function_arn: str = "", memory: int = 512, timeout: float = 30.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function_arn
        self.memory_limit_in_mb = memory
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))
