"""Queues that deliver the way an at-least-once platform may: every message twice, and the groups
of a batch interleaved in any order (FIFO is kept only within a group, as SQS FIFO promises)."""

from __future__ import annotations

import random
import threading

from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper.check.faults import InjectedFault, fail_at_random

__all__ = ["InjectedFault", "InterleavingQueue", "TwiceQueue", "fail_at_random"]


class TwiceQueue(PollingQueue):
    """Every message is delivered twice: the first time it is done, it is made visible again
    instead of deleted, as when a platform loses the deletion of a message its function finished."""

    def __init__(self, inner: PollingQueue) -> None:
        self.inner = inner
        self.redelivered: set[str] = set()
        self._guard = threading.Lock()

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        return self.inner.send(body, group, dedup_id)

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        return self.inner.receive(max_messages, visibility_timeout)

    def ack(self, message: QueueMessage) -> None:
        with self._guard:
            first = message.message_id not in self.redelivered
            self.redelivered.add(message.message_id)
        if first:
            self.inner.release(message)
        else:
            self.inner.ack(message)

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        self.inner.release(message, delay)

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        self.inner.dead_letter(message, reason)

    def depth(self) -> int:
        return self.inner.depth()


class InterleavingQueue(PollingQueue):
    """Receives several batches at once and hands them out with their groups interleaved at
    random, each group's messages still in order: any order the platform may choose between groups."""

    def __init__(self, inner: PollingQueue, rng: random.Random, batches: int = 4) -> None:
        self.inner = inner
        self._rng = rng
        self._batches = batches

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        return self.inner.send(body, group, dedup_id)

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        by_group: dict[str, list[QueueMessage]] = {}
        for _ in range(self._batches):
            batch = self.inner.receive(max_messages, visibility_timeout)
            if not batch:
                break
            for message in batch:
                by_group.setdefault(message.group, []).append(message)
        lanes = list(by_group.values())
        mixed: list[QueueMessage] = []
        while lanes:
            lane = self._rng.choice(lanes)
            mixed.append(lane.pop(0))
            if not lane:
                lanes.remove(lane)
        return mixed

    def ack(self, message: QueueMessage) -> None:
        self.inner.ack(message)

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        self.inner.release(message, delay)

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        self.inner.dead_letter(message, reason)

    def depth(self) -> int:
        return self.inner.depth()
