"""A client's own SQS queues (``client-channel: sqs``): names, addresses, attributes, lifecycle.

A listener owns two queues, both named under the deployment's ``<prefix>-client-`` so one IAM
pattern covers them:

* ``<prefix>-client-<id>.fifo``: the inbox; its address is ``sqs:<queue url>``. One message
  group keeps results, notifications and pings in the order the functions sent them.
* ``<prefix>-client-<id>-answers``: a standard queue where the client answers requests
  (pings); only the function that sent the request reads it.

The client creates both when it starts and deletes them when it stops. When a session ends
(closed or expired), the sessions table keeps its queue's address
(:mod:`faaskeeper_aws.dynamodb_session_ends`); the heartbeat deletes those queues once the session
has been over for a session timeout, long enough for a client still alive to read that it expired,
and never while a live session names them (:func:`reap_ended_queues`). ``fk remove service``
deletes every client queue of the deployment.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.metering import MeteredClient
from faaskeeper_aws.names import ResourceNames

if TYPE_CHECKING:
    from faaskeeper_aws.dynamodb_session_ends import SessionEnds

log = logging.getLogger("faaskeeper.aws.channel")

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
#: What SQS answers about a queue that does not exist (JSON and query protocols).
_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def sqs_address(queue_url: str) -> str:
    return SQS_SCHEME + queue_url


def queue_name(url: str) -> str:
    return url.rstrip("/").rpartition("/")[2]


def inbox_url(names: ResourceNames, address: str) -> str:
    """The URL of the inbox at ``address``; ProviderException unless it is a client inbox of this
    deployment (so that a session cannot direct functions to any other queue)."""
    if not address.startswith(SQS_SCHEME):
        raise ProviderException(f"Not an SQS channel address: {address!r}")
    url = address[len(SQS_SCHEME) :]
    inbox = re.escape(names.client_queue("").removesuffix(_FIFO_SUFFIX)) + r"[0-9a-f]{8,32}\.fifo"
    if not url.startswith(("http://", "https://")) or not re.fullmatch(inbox, queue_name(url)):
        raise ProviderException(f"{address!r} is not a client queue of this deployment")
    return url


def queue_missing(err: ProviderException) -> bool:
    """Whether ``err`` is SQS saying that the queue does not exist (deleted, or never made)."""
    cause = err.__cause__
    return isinstance(cause, ClientError) and error_code(cause) in _NO_QUEUE


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
            if not queue_missing(err):
                raise


def reap_ended_queues(
    sqs: MeteredClient,
    names: ResourceNames,
    sessions: SessionEnds,
    grace: float,
    now: float,
    *,
    deadline: float = math.inf,
) -> int:
    """Delete the queues of sessions that ended at least ``grace`` seconds before ``now`` and forget
    those sessions; queues a live session names are kept, and so is the record of their end. A
    deletion that fails, or that the ``time.time()`` ``deadline`` leaves no time for, is left to the
    next call. Returns how many sessions' queues went."""
    channels = sessions.session_channels()
    reaped = 0
    for ended in channels.ended:
        if ended.ended > now - grace:
            continue
        if time.time() >= deadline:
            log.info("the queues of ended sessions left for the next heartbeat, from %s on", ended.session_id)
            break
        try:
            url = inbox_url(names, ended.channel)
        except ProviderException as err:
            log.warning("not deleting the queues of ended session %s: %s", ended.session_id, err)
        else:
            if queue_name(url) in channels.live_queues:
                log.info("the queues of ended session %s are a live session's; kept", ended.session_id)
                continue
            try:
                delete_client_queues(sqs, url)
            except ProviderException as err:
                log.warning("the queues of ended session %s were not deleted: %s", ended.session_id, err)
                continue
            reaped += 1
        sessions.forget_ended_session(ended.session_id)
    return reaped
