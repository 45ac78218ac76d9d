"""A deployment's data resources created directly with boto3, for tests of the runtime parts.

``fk deploy service --provider aws`` creates the same resources (and the functions) through
CloudFormation; these helpers let storage and queue tests run without a stack.
"""

from __future__ import annotations

import json
from typing import Any

from faaskeeper_aws.settings import AwsSettings


def create_tables(settings: AwsSettings) -> None:
    ddb = settings.client("dynamodb")
    names = settings.names
    simple = [names.nodes_table, names.sessions_table, names.data_table]
    keys = {names.nodes_table: "path", names.sessions_table: "session_id", names.data_table: "path"}
    for table in simple:
        ddb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": keys[table], "AttributeType": "S"}],
            KeySchema=[{"AttributeName": keys[table], "KeyType": "HASH"}],
        )
    ddb.create_table(
        TableName=names.watches_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "path", "AttributeType": "S"},
            {"AttributeName": "watch", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "path", "KeyType": "HASH"}, {"AttributeName": "watch", "KeyType": "RANGE"}],
    )


def create_buckets(settings: AwsSettings) -> None:
    s3 = settings.client("s3")
    for bucket in (settings.data_bucket, settings.names.code_bucket):
        s3.create_bucket(Bucket=bucket)


def create_queues(settings: AwsSettings, *, visibility_timeout: int = 2, max_receives: int = 5) -> dict[str, str]:
    """The writer and distributor FIFO queues with their dead-letter queues; returns name -> URL."""
    sqs = settings.client("sqs")
    names = settings.names
    urls: dict[str, str] = {}
    for queue, dlq in (
        (names.writer_queue, names.writer_dead_letters),
        (names.distributor_queue, names.distributor_dead_letters),
    ):
        fifo: dict[str, Any] = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
        urls[dlq] = sqs.create_queue(QueueName=dlq, Attributes=fifo)["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=urls[dlq], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {
            **fifo,
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receives}),
        }
        urls[queue] = sqs.create_queue(QueueName=queue, Attributes=attributes)["QueueUrl"]
    return urls


def create_all(settings: AwsSettings) -> None:
    create_tables(settings)
    create_buckets(settings)
    create_queues(settings)
