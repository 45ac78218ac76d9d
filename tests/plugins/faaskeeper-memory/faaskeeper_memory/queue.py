"""FIFO queues in memory with the semantics of SQS FIFO queues.

Sequence numbers increase over the queue; a group with a message in flight delivers nothing
else until that message is acked or its visibility timeout passes; a sent message whose
dedup id is still queued is not queued twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from faaskeeper.api.queue import PollingQueue, QueueMessage


@dataclass
class _Entry:
    body: bytes
    group: str
    dedup: str
    visible_at: float
    receipt: str = ""
    receive_count: int = 0


class MemoryQueue(PollingQueue):
    def __init__(self, name: str) -> None:
        self.name = name
        self._guard = threading.Lock()
        self._next = 1
        #: Messages by sequence number; dicts keep insertion order, which is sequence order.
        self._entries: dict[int, _Entry] = {}
        self._dedup: dict[str, int] = {}
        self._dead: list[tuple[int, str]] = []

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        with self._guard:
            existing = self._dedup.get(dedup_id)
            if existing is not None:
                return existing
            seq = self._next
            self._next += 1
            self._entries[seq] = _Entry(bytes(body), group, dedup_id, time.monotonic())
            self._dedup[dedup_id] = seq
            return seq

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        now = time.monotonic()
        with self._guard:
            blocked: set[str] = set()
            for entry in self._entries.values():
                if entry.visible_at > now:
                    blocked.add(entry.group)
            group = next((e.group for e in self._entries.values() if e.group not in blocked), None)
            if group is None:
                return []
            receipt = uuid.uuid4().hex
            taken: list[QueueMessage] = []
            for seq, entry in self._entries.items():
                if entry.group != group:
                    continue
                entry.visible_at = now + visibility_timeout
                entry.receipt = receipt
                entry.receive_count += 1
                taken.append(
                    QueueMessage(
                        entry.body,
                        seq,
                        group,
                        str(seq),
                        entry.receive_count,
                        receipt,
                        deadline=time.time() + visibility_timeout,
                    )
                )
                if len(taken) == max_messages:
                    break
            return taken

    def _take(self, message: QueueMessage) -> _Entry | None:
        entry = self._entries.get(message.sequence)
        if entry is None or entry.receipt != message.receipt:
            return None
        del self._entries[message.sequence]
        self._dedup.pop(entry.dedup, None)
        return entry

    def ack(self, message: QueueMessage) -> None:
        with self._guard:
            self._take(message)

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        with self._guard:
            entry = self._entries.get(message.sequence)
            if entry is not None and entry.receipt == message.receipt:
                entry.visible_at = time.monotonic() + delay

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        with self._guard:
            if self._take(message) is not None:
                self._dead.append((message.sequence, reason))

    def depth(self) -> int:
        with self._guard:
            return len(self._entries)

    def dead_letters(self) -> list[tuple[int, str]]:
        """Provider extra: sequence numbers and reasons of the dead-lettered messages."""
        with self._guard:
            return list(self._dead)
