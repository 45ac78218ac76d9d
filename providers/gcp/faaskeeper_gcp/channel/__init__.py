"""The client channel, function side: TCP push, or the session's own Pub/Sub inbox.

Addresses are ``tcp://host:port`` (the core's :class:`~faaskeeper.channels.tcp.TcpChannel`) or
``pubsub:projects/<project>/topics/<prefix>-client-<id>``, the inbox that
:class:`~faaskeeper_gcp.channel.listener.PubSubListener` created for one client
(:mod:`faaskeeper_gcp.channel.inboxes`). Everything sent to an inbox has one ordering key and is
published only once the one before it was accepted, so results, watch notifications and pings
reach the client in the order they were sent: a notification before the reply of the write
that fired it.

Requests (the heartbeat's pings) need an answer, and Pub/Sub has no reply path of its own: a
request carries a correlation id in the ``fk-request`` attribute; the listener publishes the
handler's answer to the client's answer topic with that id in ``fk-answer-to``, and ``request``
pulls the answer subscription until it comes. A client that does not answer in time, or whose
inbox is gone, yields None. Only inboxes of this deployment are ever addressed, so a session
cannot direct functions to publish to the writer or distributor topic.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from faaskeeper.api.channel import ChannelSender
from faaskeeper.channels.routed import RoutedChannel
from faaskeeper.channels.tcp import TcpChannel
from faaskeeper.exceptions import ProviderException
from faaskeeper_gcp.channel.inboxes import (
    ANSWER_ATTRIBUTE,
    KIND_ATTRIBUTE,
    ORDERING_KEY,
    REQUEST,
    REQUEST_ATTRIBUTE,
    SEND,
    ClientInbox,
    is_inbox_address,
)
from faaskeeper_gcp.cost.metering import count_pull
from faaskeeper_gcp.errors import DeadlineExceeded, gcp_errors
from faaskeeper_gcp.queues import Topics
from faaskeeper_gcp.settings import GcpSettings

log = logging.getLogger("faaskeeper.gcp.channel")

TCP_SCHEME = "tcp://"
#: Answers taken per pull; older answers than the awaited one are dropped with it.
_PULL_BATCH = 10


class PubSubChannel(ChannelSender):
    """Publishes to the client inboxes of one deployment."""

    def __init__(self, settings: GcpSettings, topics: Topics) -> None:
        self._settings = settings
        self._topics = topics
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def send(self, address: str, message: bytes) -> None:
        inbox = ClientInbox.of(self._settings, address)
        self._topics.publish(inbox.topic_id, message, ORDERING_KEY, {KIND_ATTRIBUTE: SEND})

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        try:
            inbox = ClientInbox.of(self._settings, address)
        except ProviderException as err:
            log.warning("not asking %s: %s", address, err)
            return None
        deadline = time.monotonic() + timeout
        # One request at a time per client from this instance, so none takes another's answer.
        with self._lock_for(address):
            correlation = uuid.uuid4().hex
            attributes = {KIND_ATTRIBUTE: REQUEST, REQUEST_ATTRIBUTE: correlation}
            try:
                self._topics.publish(inbox.topic_id, message, ORDERING_KEY, attributes)
                return self._await_answer(inbox, correlation, deadline)
            except ProviderException as err:
                log.info("no answer from %s: %s", address, err)
                return None

    def _lock_for(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def _await_answer(self, inbox: ClientInbox, correlation: str, deadline: float) -> bytes | None:
        """Pull answers until the one to ``correlation`` arrives; every answer pulled is acknowledged."""
        subscriber = self._settings.subscriber()
        while (remaining := deadline - time.monotonic()) > 0:
            with gcp_errors(f"pull answers from {inbox.answers_id}"):
                try:
                    pulled = subscriber.pull(
                        request={"subscription": inbox.answers_subscription, "max_messages": _PULL_BATCH},
                        timeout=remaining,
                        retry=None,
                    ).received_messages
                except DeadlineExceeded:
                    return None
            if not pulled:
                continue
            answer: bytes | None = None
            for received in pulled:
                count_pull(received.message.data, received.message.attributes)
                if received.message.attributes.get(ANSWER_ATTRIBUTE) == correlation:
                    answer = received.message.data
            with gcp_errors(f"acknowledge answers on {inbox.answers_id}"):
                subscriber.acknowledge(
                    request={"subscription": inbox.answers_subscription, "ack_ids": [r.ack_id for r in pulled]}
                )
            if answer is not None:
                return answer
        return None


class GcpClientChannel(RoutedChannel):
    """The functions' channel to clients: TCP or Pub/Sub, by the address each session registered."""

    def __init__(self, settings: GcpSettings, topics: Topics) -> None:
        super().__init__(
            [
                (lambda address: address.startswith(TCP_SCHEME), TcpChannel()),
                (is_inbox_address, PubSubChannel(settings, topics)),
            ]
        )
