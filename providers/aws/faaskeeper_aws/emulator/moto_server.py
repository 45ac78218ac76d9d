"""``moto_server`` with SQS FIFO and DynamoDB behaving as FaaSKeeper relies on, as AWS does.

``python -m faaskeeper_aws.emulator.moto_server -H 127.0.0.1 -p PORT`` (the arguments of ``moto_server``)
starts it; it needs moto (``pip install 'faaskeeper-aws[emulator]'``).

moto 5.2.1 departs from SQS FIFO in three ways that break the protocol:

* it gives each message a *random* 20-digit SequenceNumber, where SQS's increase in send order
  (the distributor queue's sequence number is FaaSKeeper's transaction id);
* a send that its deduplication id makes a duplicate returns a new MessageId and SequenceNumber
  where SQS answers with the original message's, and it forgets a deduplication id once the
  message is deleted where SQS remembers it for the 5-minute interval;
* when several received messages of one group become visible again (their visibility timeout
  passed, none deleted), it delivers the *last* of them first: it lets a message of the group
  through only once no other is marked in flight, and it unmarks each as it meets it. SQS
  delivers the group again from its oldest message, so a session's requests stay in order.

Here every FIFO message gets the next number of one server-wide counter (20 digits, beyond
2**63 like SQS's), a duplicate send within 5 minutes returns the original message, and a
message whose visibility timeout passed no longer counts as in flight for its group.

It also serializes DynamoDB requests: moto's server answers each request on its own thread and
checks a condition, then writes, with nothing in between held, so two conditional writes (or
transactions, whose rollback restores whole tables) could both succeed where DynamoDB lets one.
"""

from __future__ import annotations

import hashlib
import itertools
import sys
import threading
import time
from typing import Any

try:
    from moto import server
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs import models
except ImportError:  # pragma: no cover - depends on the installation
    sys.exit("The AWS emulator needs moto: pip install 'faaskeeper-aws[emulator]'")

DEDUPLICATION_INTERVAL = 300.0
FIRST_SEQUENCE = 18_000_000_000_000_000_000

_guard = threading.RLock()
_sequence = itertools.count(FIRST_SEQUENCE)
_sent: dict[tuple[str, float, str], tuple[float, Any]] = {}

_add_message = models.Queue.add_message
_send_message = models.SQSBackend.send_message
_receive_message = models.SQSBackend.receive_message


def add_message(self: Any, message: Any) -> None:
    if self.fifo_queue and message.sequence_number is not None:
        message.sequence_number = str(next(_sequence))
    _add_message(self, message)


def send_message(self: Any, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
    queue = self.get_queue(queue_name)
    dedup = kwargs.get("deduplication_id")
    if not queue.fifo_queue:
        return _send_message(self, queue_name, message_body, *args, **kwargs)
    if dedup is None and queue.attributes.get("ContentBasedDeduplication") == "true":
        dedup = hashlib.sha256(message_body.encode()).hexdigest()
    if dedup is None:
        return _send_message(self, queue_name, message_body, *args, **kwargs)
    key = (queue.queue_arn, queue.created_timestamp, dedup)
    with _guard:
        now = time.time()
        if len(_sent) > 10_000:
            for stale in [k for k, (at, _) in _sent.items() if now - at > DEDUPLICATION_INTERVAL]:
                del _sent[stale]
        earlier = _sent.get(key)
        if earlier is not None and now - earlier[0] < DEDUPLICATION_INTERVAL:
            return earlier[1]
        message = _send_message(self, queue_name, message_body, *args, **kwargs)
        _sent[key] = (now, message)
        return message


def pending_message_groups(self: Any) -> set[str]:
    """The groups with a message in flight: received, neither deleted nor visible again."""
    return {m.group_id for m in self._pending_messages if m.group_id is not None and not m.visible}


def receive_message(self: Any, queue_name: str, *args: Any, **kwargs: Any) -> Any:
    queue = self.get_queue(queue_name)
    # Messages visible again are in flight no more: a receive may return them, oldest first.
    queue._pending_messages.difference_update([m for m in queue._pending_messages if m.visible])
    return _receive_message(self, queue_name, *args, **kwargs)


_dynamodb = threading.Lock()
_dynamodb_call_action = DynamoHandler.call_action


def dynamodb_call_action(self: Any) -> Any:
    with _dynamodb:
        return _dynamodb_call_action(self)


def main(argv: list[str]) -> None:
    DynamoHandler.call_action = dynamodb_call_action  # type: ignore[method-assign]
    models.Queue.add_message = add_message  # type: ignore[method-assign]
    models.SQSBackend.send_message = send_message  # type: ignore[method-assign]
    models.SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    models.Queue.pending_message_groups = property(pending_message_groups)  # type: ignore[method-assign,assignment]
    server.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
