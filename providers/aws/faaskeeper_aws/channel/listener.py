"""The client channel, client side, over SQS: the client's own queues, long-polled on a thread.

``start`` creates the client's inbox and answer queue (:mod:`faaskeeper_aws.channel.client_queues`),
then a thread long-polls the inbox and hands each message to the handler in order. A message
that is a request (it carries ``fk-request``) has the handler's answer sent to the answer queue.
Handled messages are deleted in one batch per receive. ``stop`` deletes both queues: after it,
sending to the address fails and requests get no answer.

The service deletes a client's queues only after its session ended (or with the deployment), a
session timeout after the "expired" notice was sent. A client silent for longer (suspended,
cut off) misses that notice: when the listener finds its inbox gone, it stops polling and hands
the handler what a request of an expired session is answered with, so the client learns all the same.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from faaskeeper.api.channel import ChannelListener, MessageHandler
from faaskeeper.exceptions import ProviderException, SessionExpiredException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import Reply
from faaskeeper_aws.channel.client_queues import (
    ANSWER_ATTRIBUTE,
    REQUEST_ATTRIBUTE,
    answer_queue,
    attribute,
    create_client_queues,
    delete_client_queues,
    queue_missing,
    queue_name,
    sqs_address,
)
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.queues import sqs_client, string_attribute
from faaskeeper_aws.queues.payload import PayloadStore
from faaskeeper_aws.settings import AwsSettings

log = logging.getLogger("faaskeeper.aws.channel")

#: Seconds one ReceiveMessage waits for a message: SQS's longest, the fewest billed requests.
POLL_SECONDS = 20
#: Seconds a received message stays hidden should the client stall while handling it.
VISIBILITY_TIMEOUT = 30


class SqsListener(ChannelListener):
    def __init__(self, settings: AwsSettings, *, poll_seconds: int = POLL_SECONDS) -> None:
        self._settings = settings
        self._sqs = sqs_client(settings)
        self._payloads = PayloadStore(settings)
        self._poll_seconds = poll_seconds
        self.client_id = uuid.uuid4().hex[:16]
        self._inbox_url: str | None = None
        self._answers_url: str | None = None
        self._handler: MessageHandler | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._guard = threading.Lock()

    def _ensure_queues(self) -> str:
        """The inbox's URL, creating the client's queues on first use (not after ``stop``)."""
        with self._guard:
            if self._inbox_url is None:
                if self._stopped.is_set():
                    raise ProviderException(f"The SQS listener {self.client_id} was stopped")
                self._inbox_url, self._answers_url = create_client_queues(
                    self._sqs, self._settings.names, self.client_id
                )
            return self._inbox_url

    @property
    def address(self) -> str:
        return sqs_address(self._ensure_queues())

    @property
    def queue_url(self) -> str:
        return self._ensure_queues()

    def start(self, handler: MessageHandler) -> None:
        self._ensure_queues()
        self._handler = handler
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="faaskeeper-sqs-channel", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        failures = 0
        while not self._stopped.is_set():
            try:
                self._poll()
                failures = 0
            except ProviderException as err:
                if self._stopped.is_set():
                    return
                if queue_missing(err):
                    self._inbox_gone(err)
                    return
                failures += 1
                log.warning("client queue %s: %s", self.client_id, err)
                self._stopped.wait(min(5.0, 0.1 * 2**failures))

    def _poll(self) -> None:
        url = self._inbox_url
        assert url is not None
        with aws_errors(f"receive from the client queue {queue_name(url)}"):
            received: list[dict[str, Any]] = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=self._poll_seconds,
                VisibilityTimeout=VISIBILITY_TIMEOUT,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        if not received or self._stopped.is_set():
            return
        offloaded: list[str] = []
        for raw in received:
            key = self._deliver(raw)
            if key is not None:
                offloaded.append(key)
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)]
        with aws_errors(f"delete from the client queue {queue_name(url)}"):
            self._sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        for key in offloaded:
            self._payloads.discard(key)

    def _deliver(self, raw: dict[str, Any]) -> str | None:
        """Hand one message to the handler, answer it if it is a request; its offloaded object."""
        assert self._handler is not None
        try:
            decoded = self._payloads.decode(str(raw.get("Body", "")))
        except MalformedMessage as err:
            log.warning("ignoring a malformed message on client queue %s: %s", self.client_id, err)
            return None
        try:
            answer = self._handler(decoded.body)
        except Exception:
            log.exception("client channel handler failed")
            answer = None
        correlation = attribute(raw, REQUEST_ATTRIBUTE)
        if correlation is not None and answer is not None:
            self._answer(correlation, answer)
        return decoded.key

    def _inbox_gone(self, err: ProviderException) -> None:
        log.warning("the queues of client %s are gone, its session with them: %s", self.client_id, err)
        assert self._handler is not None
        try:
            self._handler(Reply.failure(0, SessionExpiredException()).encode())
        except Exception:
            log.exception("client channel handler failed")

    def _answer(self, correlation: str, answer: bytes) -> None:
        url = self._answers_url
        assert url is not None
        text = self._payloads.encode(answer, answer_queue(queue_name(self._inbox_url or "")), correlation)
        try:
            with aws_errors(f"answer on {queue_name(url)}"):
                self._sqs.send_message(
                    QueueUrl=url, MessageBody=text, MessageAttributes={ANSWER_ATTRIBUTE: string_attribute(correlation)}
                )
        except ProviderException as err:
            log.warning("could not answer request %s: %s", correlation, err)

    def stop(self) -> None:
        with self._guard:
            if self._stopped.is_set():
                return
            self._stopped.set()
            url = self._inbox_url
        if url is not None:
            try:
                delete_client_queues(self._sqs, url)
            except ProviderException as err:
                log.warning("client queues of %s not deleted: %s", self.client_id, err)
        # A long poll in progress ends by itself within poll_seconds and hands nothing more on.
