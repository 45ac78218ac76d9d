"""Processing a batch of queue messages in order, the way the platforms report partial failures."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from faaskeeper.api.queue import QueueMessage
from faaskeeper.protocol.codec import MalformedMessage

log = logging.getLogger("faaskeeper.functions")


class RetryLater(Exception):
    """A message that cannot be finished yet and must be delivered again after ``delay``
    seconds, holding up its group meanwhile (a host releases it with that delay)."""

    def __init__(self, message: str, delay: float) -> None:
        super().__init__(message)
        self.delay = max(0.0, delay)


@dataclass
class BatchResult:
    """Which messages are done, which must be redelivered, and which go to the dead-letter queue."""

    succeeded: list[QueueMessage] = field(default_factory=list)
    failed: list[QueueMessage] = field(default_factory=list)
    dead: list[tuple[QueueMessage, str]] = field(default_factory=list)
    #: Seconds after which a failed message asked to be delivered again, by message id.
    delays: dict[str, float] = field(default_factory=dict)


def run_batch(messages: list[QueueMessage], handle: Callable[[QueueMessage], None]) -> BatchResult:
    """Handle messages in order. A failure blocks the rest of its group (FIFO is kept); a
    malformed message is dead-lettered and the group goes on."""
    result = BatchResult()
    blocked: set[str] = set()
    for message in messages:
        if message.group in blocked:
            result.failed.append(message)
            continue
        try:
            handle(message)
        except MalformedMessage as err:
            log.error("dead-lettering message %s: %s", message.message_id, err)
            result.dead.append((message, str(err)))
        except RetryLater as later:
            log.info("message %s is delivered again in %.3f s: %s", message.message_id, later.delay, later)
            result.failed.append(message)
            result.delays[message.message_id] = later.delay
            blocked.add(message.group)
        except Exception:
            log.exception("message %s failed; it will be redelivered", message.message_id)
            result.failed.append(message)
            blocked.add(message.group)
        else:
            result.succeeded.append(message)
    return result
