"""Queues between the client and the functions: FIFO per group, at least once."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass


@dataclass(frozen=True)
class QueueMessage:
    """A delivered message: the platform's envelope around the body."""

    body: bytes
    sequence: int
    group: str
    message_id: str
    #: How many times the platform delivered the message, this delivery included; 0 when the
    #: platform does not tell (then any delivery may be a redelivery).
    receive_count: int = 1
    receipt: str = ""
    #: When (``time.time()`` seconds) this delivery ends: after it the platform may deliver the
    #: message again, so a function must have finished acting on it (its visibility timeout, or
    #: the end of the invocation where the platform kills a function before then).
    deadline: float = math.inf


class Queue(ABC):
    """Sending side of a FIFO queue. Messages of one group are delivered in order."""

    @abstractmethod
    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        """Enqueue ``body``; return its sequence number, increasing over the whole queue."""


class PollingQueue(Queue):
    """A queue whose consumer pulls messages (the local function host uses this)."""

    @abstractmethod
    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        """Up to ``max_messages`` consecutive messages of one group whose earlier messages are all
        done, hidden from other consumers for ``visibility_timeout`` seconds. Empty if none."""

    @abstractmethod
    def ack(self, message: QueueMessage) -> None:
        """The message is done: delete it."""

    @abstractmethod
    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        """Processing failed: make the message visible again after ``delay`` seconds."""

    @abstractmethod
    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        """Move a message that must never be applied out of the queue, keeping it for inspection."""

    @abstractmethod
    def depth(self) -> int:
        """Messages waiting or in flight."""
