"""The client channel, function side: TCP push, or the session's own SQS FIFO queue.

Addresses are ``tcp://host:port`` (the core's :class:`~faaskeeper.channels.tcp.TcpChannel`) or
``sqs:<queue url>``, the inbox that :class:`~faaskeeper_aws.channel.listener.SqsListener` created for
one client (:mod:`faaskeeper_aws.channel.client_queues`). Everything sent to an inbox goes in one message
group, so results, watch notifications and pings reach the client in the order they were sent.

Requests (the heartbeat's pings) need an answer, and SQS has no reply path of its own: a request
carries a correlation id in the ``fk-request`` attribute; the listener sends the handler's
answer to the client's answer queue with that id in ``fk-answer-to``, and ``request`` waits for
it there (long polling). A client that does not answer in time, or whose queues are gone, yields None.
Only queues of this deployment's client-queue prefix are ever addressed, so a session cannot
direct functions to send to the writer or distributor queue.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from faaskeeper.api.channel import ChannelSender
from faaskeeper.channels.routed import RoutedChannel
from faaskeeper.channels.tcp import TcpChannel
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper_aws.channel.client_queues import (
    ANSWER_ATTRIBUTE,
    CHANNEL_GROUP,
    REQUEST_ATTRIBUTE,
    SQS_SCHEME,
    answer_queue,
    attribute,
    inbox_url,
    queue_name,
)
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.queues import sqs_client, string_attribute
from faaskeeper_aws.queues.payload import PayloadStore
from faaskeeper_aws.settings import AwsSettings

__all__ = ["AwsClientChannel", "SqsChannel"]

log = logging.getLogger("faaskeeper.aws.channel")

TCP_SCHEME = "tcp://"


class SqsChannel(ChannelSender):
    """Sends to client queues of one deployment."""

    def __init__(self, settings: AwsSettings, *, payloads: PayloadStore | None = None) -> None:
        self._sqs: MeteredClient = sqs_client(settings)
        self._names = settings.names
        self._payloads = payloads or PayloadStore(settings)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _url(self, address: str) -> str:
        return inbox_url(self._names, address)

    def _send(self, url: str, message: bytes, attributes: dict[str, Any] | None = None) -> None:
        dedup = uuid.uuid4().hex
        text = self._payloads.encode(message, queue_name(url), dedup)
        with aws_errors(f"send to the client queue {queue_name(url)}"):
            self._sqs.send_message(
                QueueUrl=url,
                MessageBody=text,
                MessageGroupId=CHANNEL_GROUP,
                MessageDeduplicationId=dedup,
                MessageAttributes=attributes or {},
            )

    def send(self, address: str, message: bytes) -> None:
        self._send(self._url(address), message)

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        try:
            url = self._url(address)
        except ProviderException as err:
            log.warning("not asking %s: %s", address, err)
            return None
        with self._lock_for(url):
            correlation = uuid.uuid4().hex
            try:
                self._send(url, message, {REQUEST_ATTRIBUTE: string_attribute(correlation)})
                return self._await_answer(answer_queue(url), correlation, time.monotonic() + timeout)
            except ProviderException as err:
                log.info("no answer from %s: %s", address, err)
                return None

    def _lock_for(self, url: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(url, threading.Lock())

    def _await_answer(self, url: str, correlation: str, deadline: float) -> bytes | None:
        """Collect answers until the one to ``correlation`` arrives; older answers are dropped."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            wait = min(20, int(remaining))
            with aws_errors(f"receive answers from {queue_name(url)}"):
                received = self._sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, MessageAttributeNames=["All"]
                ).get("Messages", [])
            answer: bytes | None = None
            for raw in received:
                if attribute(raw, ANSWER_ATTRIBUTE) == correlation:
                    try:
                        answer = self._payloads.decode(str(raw.get("Body", ""))).body
                    except MalformedMessage as err:
                        log.warning("ignoring a malformed answer on %s: %s", queue_name(url), err)
            if received:
                self._drop(url, received)
            if answer is not None:
                return answer
            if not received and wait == 0:
                time.sleep(min(remaining, 0.02))

    def _drop(self, url: str, messages: list[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        with aws_errors(f"delete answers from {queue_name(url)}"):
            self._sqs.delete_message_batch(QueueUrl=url, Entries=entries)


class AwsClientChannel(RoutedChannel):
    """The functions' channel to clients: TCP or SQS, by the address each session registered."""

    def __init__(self, settings: AwsSettings) -> None:
        super().__init__(
            [
                (lambda address: address.startswith(TCP_SCHEME), TcpChannel()),
                (lambda address: address.startswith(SQS_SCHEME), SqsChannel(settings)),
            ]
        )
