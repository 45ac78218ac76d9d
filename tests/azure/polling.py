"""An Azure deployment's Storage Queues as the core's PollingQueues, and its writer and distributor
functions around the core's: how the core's suites that run the functions by hand
(:class:`~faaskeeper.testing.support.FunctionRig`) reach them on Azure.

A writer-queue message is an envelope (:class:`~faaskeeper_azure.queues.Envelope`); the view
hands the core the request inside it, and the writer trigger hands the message's text to the
provider's :class:`~faaskeeper_azure.queues.OrderedWriter`, which restores each session's order
before the core writer sees the request, exactly as the deployed writer function does. A
distributor-queue message is a doorbell; the distributor trigger drains the log up to it
(:meth:`~faaskeeper_azure.functions.functions.Functions.drain`), as the deployed distributor
function does. Nothing of Storage Queues' own behaviour is changed: they deliver in any order,
and each delivery is hidden for whole seconds.
"""

from __future__ import annotations

import math
import sys
import time

from azure.storage.queue import QueueMessage as StoredMessage

from faaskeeper.api.queue import PollingQueue, Queue, QueueMessage
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import WriteRequest
from faaskeeper.protocol.writer import DISTRIBUTOR_GROUP
from faaskeeper.testing.support import FunctionTriggers, Handler
from faaskeeper_azure.deploy.status import queue_depth
from faaskeeper_azure.deployment import AzureDeployment
from faaskeeper_azure.errors import azure_errors
from faaskeeper_azure.functions.functions import Functions, function_settings
from faaskeeper_azure.queues import Envelope, SessionTurns, StorageQueues

#: Storage Queues hand out at most this many messages per receive.
MOST = 32


class StorageQueueView(PollingQueue):
    """One of a deployment's Storage Queues, polled; sending goes through ``sender``, the
    deployment's own queue. Each delivery's text is kept for the trigger while it is in flight."""

    def __init__(self, queues: StorageQueues, name: str, sender: Queue) -> None:
        self._queues = queues
        self.name = name
        self._sender = sender
        self._texts: dict[str, str] = {}

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        return self._sender.send(body, group, dedup_id)

    def delivered(self, text: str) -> tuple[bytes, str]:
        """The body the core sees of a message's text, and its group."""
        return text.encode(), ""

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        hidden = max(1, math.ceil(visibility_timeout))
        with azure_errors(f"receive from queue {self.name}"):
            stored = list(
                self._queues.client(self.name).receive_messages(
                    max_messages=min(MOST, max_messages), visibility_timeout=hidden
                )
            )
        return [self._delivery(message, hidden) for message in stored]

    def _delivery(self, message: StoredMessage, hidden: int) -> QueueMessage:
        text = str(message.content)
        self._texts[message.id] = text
        body, group = self.delivered(text)
        visible = message.next_visible_on
        return QueueMessage(
            body=body,
            sequence=0,
            group=group,
            message_id=message.id,
            receive_count=message.dequeue_count or 1,
            receipt=message.pop_receipt or "",
            deadline=visible.timestamp() if visible is not None else time.time() + hidden,
        )

    def text(self, message: QueueMessage) -> str:
        """The text of a message in flight, as the queue holds it."""
        return self._texts[message.message_id]

    def ack(self, message: QueueMessage) -> None:
        self._texts.pop(message.message_id, None)
        with azure_errors(f"delete a message of {self.name}"):
            self._queues.client(self.name).delete_message(message.message_id, message.receipt)

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        self._texts.pop(message.message_id, None)
        with azure_errors(f"release a message of {self.name}"):
            self._queues.client(self.name).update_message(
                message.message_id, message.receipt, visibility_timeout=math.ceil(delay)
            )

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        text = self._texts.pop(message.message_id, message.body.decode(errors="replace"))
        self._queues.dead_letter(self.name, text, reason)
        with azure_errors(f"delete a message of {self.name}"):
            self._queues.client(self.name).delete_message(message.message_id, message.receipt)

    def depth(self) -> int:
        """The messages of the queue, visible or hidden (Storage Queues count both)."""
        return queue_depth(self._queues, self.name) or 0


class WriterQueueView(StorageQueueView):
    """The writer queue: the request inside each envelope, grouped by session."""

    def __init__(self, queues: StorageQueues, name: str, sender: Queue, turns: SessionTurns) -> None:
        super().__init__(queues, name, sender)
        self._turns = turns

    def delivered(self, text: str) -> tuple[bytes, str]:
        try:
            envelope = Envelope.decode(text)
        except MalformedMessage:
            return text.encode(), ""
        return envelope.body, envelope.group

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        """A delivery ended early (its instance died): the claim on its session's turn, which
        lasts until the delivery's end, ends with it, as the platform delivers the message again
        only once the delivery's visibility timeout (the claim's end) has passed."""
        try:
            request = WriteRequest.decode(message.body, sys.maxsize)
        except MalformedMessage:
            pass
        else:
            self._turns.release(request.session_id, request.seq)
        super().release(message, delay)


class DistributorQueueView(StorageQueueView):
    """The distributor's doorbells; its depth counts the log's events not yet applied too."""

    def __init__(self, queues: StorageQueues, name: str, deployment: AzureDeployment) -> None:
        super().__init__(queues, name, deployment.distributor_queue)
        self._log = deployment.distributor_queue

    def delivered(self, text: str) -> tuple[bytes, str]:
        return text.encode(), DISTRIBUTOR_GROUP

    def depth(self) -> int:
        allocated, applied = self._log.positions()
        return super().depth() + allocated - applied


def function_triggers(deployment: AzureDeployment) -> FunctionTriggers:
    """The deployment's queues, polled, with the Azure writer and distributor functions around the
    core's: the deployed functions' own code (:class:`Functions`), fed by hand."""
    functions = Functions.over(
        function_settings(deployment.config, deployment.settings),
        system=deployment.system_storage,
        user=deployment.user_storage,
        channel=deployment.channel,
        writer_queue=deployment.writer_queue,
        distributor_queue=deployment.distributor_queue,
        doorbells=deployment.doorbells,
    )
    # The rig runs one function at a time: a request early for its turn cannot have its
    # predecessor finishing beside it, so it is sent again to wait at once.
    functions.ordered.patience = 0.0
    turns = SessionTurns(deployment.system_storage)
    writers = WriterQueueView(deployment.queues, deployment.writer_queue.name, deployment.writer_queue, turns)
    distributors = DistributorQueueView(deployment.queues, deployment.doorbells.name, deployment)

    def writer(handle: Handler) -> Handler:
        return lambda message: functions.ordered.process(writers.text(message), message, handle)

    def distributor(handle: Handler) -> Handler:
        def ring(message: QueueMessage) -> None:
            functions.drain(distributors.text(message), handle)

        return ring

    return FunctionTriggers(writers, distributors, writer, distributor)
