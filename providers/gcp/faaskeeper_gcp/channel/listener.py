"""The client channel, client side, over Pub/Sub: the client's own inbox, read by streaming pull.

``start`` creates the client's inbox and answer topics and subscriptions
(:mod:`faaskeeper_gcp.channel.inboxes`) and opens a streaming pull on the inbox. With message
ordering, the library hands the next message to the callback only after the previous one was
acknowledged, so the handler sees messages one at a time, in order. A message that is a request
(it carries ``fk-request``) has the handler's answer published to the answer topic. A message
delivered again (Pub/Sub delivers at least once) is acknowledged and not handed on twice.
``stop`` ends the pull and deletes the topics and subscriptions: after it, sending to the address
fails and requests get no answer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections import OrderedDict
from concurrent.futures import Future
from typing import Any

from faaskeeper.api.channel import ChannelListener, MessageHandler
from faaskeeper.exceptions import ProviderException
from faaskeeper_gcp.channel.inboxes import (
    ANSWER_ATTRIBUTE,
    REQUEST_ATTRIBUTE,
    ClientInbox,
    create_inbox,
    delete_inbox,
)
from faaskeeper_gcp.cost.metering import count_pull
from faaskeeper_gcp.names import CLIENT_ID_LENGTH
from faaskeeper_gcp.queues import Topics
from faaskeeper_gcp.settings import GcpSettings

log = logging.getLogger("faaskeeper.gcp.channel")

#: Ids of the messages last handled, to recognise a redelivery.
_REMEMBERED = 1024
#: Seconds ``stop`` waits for the streaming pull to wind down.
_STOP_TIMEOUT = 5.0


class PubSubListener(ChannelListener):
    def __init__(self, settings: GcpSettings, topics: Topics) -> None:
        self._settings = settings
        self._topics = topics
        self.client_id = uuid.uuid4().hex[:CLIENT_ID_LENGTH]
        self._inbox: ClientInbox | None = None
        self._handler: MessageHandler | None = None
        self._pull: Future[Any] | None = None
        self._handled: OrderedDict[str, None] = OrderedDict()
        self._stopped = threading.Event()
        self._guard = threading.Lock()

    def _ensure_inbox(self) -> ClientInbox:
        """The client's inbox, created on first use (not after ``stop``)."""
        with self._guard:
            if self._inbox is None:
                if self._stopped.is_set():
                    raise ProviderException(f"The Pub/Sub listener {self.client_id} was stopped")
                settings = self._settings
                try:
                    self._inbox = create_inbox(settings, self.client_id)
                except ProviderException:
                    # Whatever was made before the failure goes too.
                    delete_inbox(settings, ClientInbox(settings.project, settings.names, self.client_id))
                    raise
            return self._inbox

    @property
    def address(self) -> str:
        return self._ensure_inbox().address

    @property
    def inbox(self) -> ClientInbox:
        return self._ensure_inbox()

    def start(self, handler: MessageHandler) -> None:
        inbox = self._ensure_inbox()
        self._handler = handler
        with self._guard:
            if self._pull is None:
                self._pull = self._settings.subscriber().subscribe(inbox.subscription, self._receive)
                self._pull.add_done_callback(self._pull_ended)

    def _pull_ended(self, pull: Future[Any]) -> None:
        if not self._stopped.is_set() and not pull.cancelled() and pull.exception() is not None:
            log.warning("the inbox of client %s stopped delivering: %s", self.client_id, pull.exception())

    def _receive(self, message: Any) -> None:
        """One message from the streaming pull (a ``pubsub_v1.subscriber.message.Message``)."""
        try:
            count_pull(message.data, message.attributes)
            if message.message_id in self._handled or self._stopped.is_set():
                return
            answer = self._handle(message.data)
            correlation = message.attributes.get(REQUEST_ATTRIBUTE)
            if correlation and answer is not None:
                self._answer(correlation, answer)
            self._handled[message.message_id] = None
            if len(self._handled) > _REMEMBERED:
                self._handled.popitem(last=False)
        finally:
            # The next message of the ordering key comes only after this one is acknowledged.
            message.ack()

    def _handle(self, payload: bytes) -> bytes | None:
        assert self._handler is not None
        try:
            return self._handler(payload)
        except Exception:
            log.exception("client channel handler failed")
            return None

    def _answer(self, correlation: str, answer: bytes) -> None:
        assert self._inbox is not None
        try:
            self._topics.publish(self._inbox.answers_id, answer, attributes={ANSWER_ATTRIBUTE: correlation})
        except ProviderException as err:
            log.warning("could not answer request %s: %s", correlation, err)

    def stop(self) -> None:
        with self._guard:
            if self._stopped.is_set():
                return
            self._stopped.set()
            inbox, pull = self._inbox, self._pull
        if pull is not None:
            pull.cancel()
            # It ends cancelled, or it had failed before: either way it is over.
            with contextlib.suppress(Exception):
                pull.result(timeout=_STOP_TIMEOUT)
        if inbox is not None:
            try:
                delete_inbox(self._settings, inbox)
            except ProviderException as err:
                log.warning("the inbox of client %s was not deleted: %s", self.client_id, err)
