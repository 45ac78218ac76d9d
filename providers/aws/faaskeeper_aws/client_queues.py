"""A client's own SQS queues (``client-channel: sqs``): names, addresses, attributes, lifecycle.

A listener owns two queues, both named under the deployment's ``<prefix>-client-`` so one IAM
pattern covers them:

* ``<prefix>-client-<id>.fifo``: the inbox; its address is ``sqs:<queue url>``. One message
  group keeps results, notifications and pings in the order the functions sent them.
* ``<prefix>-client-<id>-answers``: a standard queue where the client answers requests
  (pings); only the function that sent the request reads it.
"""

from __future__ import annotations

from typing import Any

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.metering import MeteredClient
from faaskeeper_aws.names import ResourceNames

SQS_SCHEME = "sqs:"
#: The one message group of a client's inbox.
CHANNEL_GROUP = "channel"
#: On a request: its correlation id. On an answer: the id of the request it answers.
REQUEST_ATTRIBUTE = "fk-request"
ANSWER_ATTRIBUTE = "fk-answer-to"
#: Results older than this are of no use to anyone: SQS drops them.
INBOX_RETENTION = 3600
ANSWER_RETENTION = 60
_FIFO_SUFFIX = ".fifo"
_ANSWER_SUFFIX = "-answers"


def sqs_address(queue_url: str) -> str:
    return SQS_SCHEME + queue_url


def queue_name(url: str) -> str:
    return url.rstrip("/").rpartition("/")[2]


def answer_queue(name_or_url: str) -> str:
    """The answer queue's name (or URL) of an inbox's name (or URL)."""
    if not name_or_url.endswith(_FIFO_SUFFIX):
        raise ProviderException(f"Not a client queue: {name_or_url!r}")
    return name_or_url[: -len(_FIFO_SUFFIX)] + _ANSWER_SUFFIX


def attribute(message: dict[str, Any], name: str) -> str | None:
    """A String message attribute of a received message."""
    value = message.get("MessageAttributes", {}).get(name, {}).get("StringValue")
    return value if isinstance(value, str) else None


def create_client_queues(sqs: MeteredClient, names: ResourceNames, client_id: str) -> tuple[str, str]:
    """Create a client's inbox and answer queue; returns their URLs."""
    inbox = names.client_queue(client_id)
    tags = {"faaskeeper-deployment": names.deployment, "faaskeeper-role": "client-channel"}
    with aws_errors(f"create the client queue {inbox}"):
        inbox_url = str(
            sqs.create_queue(
                QueueName=inbox,
                Attributes={
                    "FifoQueue": "true",
                    "ContentBasedDeduplication": "false",
                    "MessageRetentionPeriod": str(INBOX_RETENTION),
                },
                tags=tags,
            )["QueueUrl"]
        )
        answers_url = str(
            sqs.create_queue(
                QueueName=answer_queue(inbox),
                Attributes={"MessageRetentionPeriod": str(ANSWER_RETENTION)},
                tags=tags,
            )["QueueUrl"]
        )
    return inbox_url, answers_url


def delete_client_queues(sqs: MeteredClient, inbox_url: str) -> None:
    """Delete a client's queues (those already gone are skipped)."""
    for url in (inbox_url, answer_queue(inbox_url)):
        try:
            with aws_errors(f"delete the client queue {queue_name(url)}"):
                sqs.delete_queue(QueueUrl=url)
        except ProviderException as err:
            if "NonExistentQueue" not in str(err) and "QueueDoesNotExist" not in str(err):
                raise
