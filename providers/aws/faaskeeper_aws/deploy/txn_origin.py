"""How AWS transaction ids are shown: as offsets from the deployment's origin.

A transaction id is the distributor queue's SQS sequence number, 20 digits long. When ``fk
deploy`` creates a deployment it records an *origin*, a sequence number SQS gave just before the
deployment's first transaction: that of a probe message to a FIFO queue made for it and deleted at
once (moto numbers every FIFO message of its server from one counter; SQS's numbers grow with the
clock, whatever the queue). A transaction id is shown as its offset from the origin, so ids keep
their order and each is shown as itself, and on moto they are as small as GCP's counter. What is
stored stays the sequence number. The origin is the item ``#txn-origin`` of the nodes table; a
deployment created before origins were recorded shows the sequence numbers themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from botocore.exceptions import ClientError

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.dynamodb import S, is_condition_failure

ORIGIN_KEY = {"path": S("#txn-origin")}


def probe_sequence(settings: AwsSettings) -> int:
    """A sequence number SQS gives now: that of one message to a FIFO queue made for it."""
    sqs = settings.client("sqs")
    name = f"{settings.names.prefix}-origin-{uuid.uuid4().hex[:8]}.fifo"
    with aws_errors("create the queue that tells the transaction id origin"):
        url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    try:
        with aws_errors("send to the queue that tells the transaction id origin"):
            sent = sqs.send_message(
                QueueUrl=url, MessageBody="origin", MessageGroupId="origin", MessageDeduplicationId="o"
            )
    finally:
        with aws_errors("delete the queue that tells the transaction id origin"):
            sqs.delete_queue(QueueUrl=url)
    sequence = sent.get("SequenceNumber")
    if sequence is None:
        raise ProviderException(f"SQS gave no sequence number to a message to the FIFO queue {name}")
    return int(sequence)


def record_origin(settings: AwsSettings) -> None:
    """Record the deployment's origin, unless it has one (call it before its first transaction)."""
    item = {**ORIGIN_KEY, "sequence": {"N": str(probe_sequence(settings))}}
    with aws_errors("record the transaction id origin"):
        try:
            settings.client("dynamodb").put_item(
                TableName=settings.names.nodes_table,
                Item=item,
                ConditionExpression="attribute_not_exists(#path)",
                ExpressionAttributeNames={"#path": "path"},
            )
        except ClientError as err:
            if not is_condition_failure(err):
                raise


def read_origin(settings: AwsSettings) -> int | None:
    """The deployment's origin; None for a deployment created before origins were recorded."""
    with aws_errors("read the transaction id origin"):
        item = (
            settings.client("dynamodb")
            .get_item(TableName=settings.names.nodes_table, Key=ORIGIN_KEY, ConsistentRead=True)
            .get("Item")
        )
    return int(item["sequence"]["N"]) if item else None


def txn_formatter(origin: int | None) -> Callable[[int], str]:
    """Shows a transaction id as its offset from ``origin`` (0, "none yet", stays 0)."""
    if origin is None:
        return str

    def show(txn: int) -> str:
        return str(txn - origin) if txn else "0"

    return show
