"""A client's own SQS queues (``client-channel: sqs``): names, addresses, attributes, lifecycle.

A listener owns two queues, both named under the deployment's ``<prefix>-client-`` so one IAM
pattern covers them:

* ``<prefix>-client-<id>.fifo``: the inbox; its address is ``sqs:<queue url>``. One message
  group keeps results, notifications and pings in the order the functions sent them.
* ``<prefix>-client-<id>-answers``: a standard queue where the client answers requests
  (pings); only the function that sent the request reads it.

The client creates both when it starts and deletes them when it stops. When a session ends
(closed or expired), the sessions table keeps its queue's address
(:mod:`faaskeeper_aws.storage.session_ends`); the heartbeat deletes those queues once the session
has been over for a session timeout, long enough for a client still alive to read that it expired,
and never while a live session names them (:func:`reap_ended_queues`). A client killed after
creating its queues and before its session was registered leaves queues no session names: the
heartbeat deletes those once they are older than any registration takes
(:func:`reap_orphaned_queues`). ``fk remove service`` deletes every client queue of the deployment.
"""

from __future__ import annotations

import logging
import math
import re
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.names import ResourceNames

if TYPE_CHECKING:
    from faaskeeper_aws.storage.session_ends import SessionChannels, SessionEnds

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
#: Seconds a client's queues may exist before a session names them. A client registers right after
#: creating them and waits its timeout (30 s by default) for the answer; queues this old that no
#: session, live or ended, names belong to a client that died before registering.
REGISTRATION_WINDOW = 900.0
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
        _delete_queue(sqs, url)


def list_client_queues(sqs: MeteredClient | Any, names: ResourceNames) -> list[str]:
    """URLs of the deployment's client queues (inboxes ``<prefix>-client-<id>.fifo`` and their
    ``-answers``), from ListQueues (one request per 1000 queues)."""
    prefix = names.client_queue("").removesuffix(_FIFO_SUFFIX)
    # A client id has no hyphen: this keeps out the queues of a deployment named "<name>-client-x".
    pattern = re.compile(re.escape(prefix) + r"[A-Za-z0-9_]+(\.fifo|-answers)")
    urls: list[str] = []
    page: dict[str, Any] = {}
    with aws_errors("list client queues"):
        while True:
            more = {"NextToken": page["NextToken"]} if page.get("NextToken") else {}
            page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=1000, **more)
            urls.extend(page.get("QueueUrls", []))
            if not page.get("NextToken"):
                break
    return [url for url in urls if pattern.fullmatch(queue_name(url))]


def reap_ended_queues(
    sqs: MeteredClient,
    names: ResourceNames,
    sessions: SessionEnds,
    grace: float,
    now: float,
    *,
    deadline: float = math.inf,
    channels: SessionChannels | None = None,
) -> int:
    """Delete the queues of sessions that ended at least ``grace`` seconds before ``now`` and forget
    those sessions; queues a live session names are kept, and so is the record of their end. A
    deletion that fails, or that the ``time.time()`` ``deadline`` leaves no time for, is left to the
    next call. ``channels``: the sessions table as read just before (read here if not given).
    Returns how many sessions' queues went."""
    if channels is None:
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


def reap_orphaned_queues(
    sqs: MeteredClient,
    names: ResourceNames,
    channels: SessionChannels,
    now: float,
    *,
    window: float = REGISTRATION_WINDOW,
    deadline: float = math.inf,
) -> int:
    """Delete the client queues that no session in ``channels`` names, live or ended, and that were
    created more than ``window`` seconds before ``now``: those of clients that died between creating
    them and registering. ``channels`` must be read before this lists the queues, so that a queue
    created since is too young to go. An answer queue whose inbox is gone goes the same way. A
    deletion that fails, or that the ``time.time()`` ``deadline`` leaves no time for, is left to the
    next call. Returns how many clients' queues went."""
    named = set(channels.live_queues)
    named.update(queue_name(e.channel[len(SQS_SCHEME) :]) for e in channels.ended if e.channel.startswith(SQS_SCHEME))
    urls = list_client_queues(sqs, names)
    inboxes = {queue_name(url) for url in urls if url.endswith(_FIFO_SUFFIX)}
    candidates = [
        url
        for url in urls
        if (url.endswith(_FIFO_SUFFIX) and queue_name(url) not in named)
        or (url.endswith(_ANSWER_SUFFIX) and _inbox_name(queue_name(url)) not in inboxes | named)
    ]
    reaped = 0
    for url in candidates:
        if time.time() >= deadline:
            log.info("orphaned client queues left for the next heartbeat, from %s on", queue_name(url))
            break
        try:
            created = _created(sqs, url)
            if created is None or created > now - window:
                continue
            if url.endswith(_FIFO_SUFFIX):
                delete_client_queues(sqs, url)
            else:
                _delete_queue(sqs, url)
        except ProviderException as err:
            log.warning("the orphaned client queue %s was not deleted: %s", queue_name(url), err)
            continue
        log.info("deleted the orphaned client queue %s (no session registered with it)", queue_name(url))
        reaped += 1
    return reaped


def _inbox_name(answers: str) -> str:
    return answers.removesuffix(_ANSWER_SUFFIX) + _FIFO_SUFFIX


def _created(sqs: MeteredClient, url: str) -> float | None:
    """When the queue at ``url`` was created (``time.time()`` seconds); None if it is gone."""
    try:
        with aws_errors(f"read the age of the client queue {queue_name(url)}"):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["CreatedTimestamp"])["Attributes"]
    except ProviderException as err:
        if queue_missing(err):
            return None
        raise
    return float(attributes["CreatedTimestamp"])


def _delete_queue(sqs: MeteredClient, url: str) -> None:
    try:
        with aws_errors(f"delete the client queue {queue_name(url)}"):
            sqs.delete_queue(QueueUrl=url)
    except ProviderException as err:
        if not queue_missing(err):
            raise
