"""FIFO queues in the deployment file, with the semantics of SQS FIFO queues.

Sequence numbers increase over the whole file; a group with a message in flight delivers
nothing else until that message is acked or its visibility timeout passes; a sent message
whose dedup id is still queued is not queued twice.
"""

from __future__ import annotations

import time
import uuid

from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper_local.storage.database import Database


class LocalQueue(PollingQueue):
    def __init__(self, db: Database, name: str, *, report_full: bool = True) -> None:
        """``report_full``: a send that fails for a full disk is also reported to the file's
        listeners (see :meth:`Database.transaction`)."""
        self._db = db
        self.name = name
        self._report_full = report_full

    def send(self, body: bytes, group: str, dedup_id: str) -> int:
        now = time.time()
        with self._db.transaction(report_full=self._report_full) as conn:
            existing = conn.execute(
                "SELECT seq FROM queue_messages WHERE queue = ? AND dedup = ?", (self.name, dedup_id)
            ).fetchone()
            if existing is not None:
                return int(existing[0])
            cursor = conn.execute(
                "INSERT INTO queue_messages (queue, grp, dedup, body, visible_at, sent_at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.name, group, dedup_id, body, now, now),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def receive(self, max_messages: int, visibility_timeout: float) -> list[QueueMessage]:
        now = time.time()
        # A read-only look first: an idle poll takes no write lock.
        if not self._db.query(
            "SELECT 1 FROM queue_messages WHERE queue = ? AND visible_at <= ? LIMIT 1", (self.name, now)
        ):
            return []
        with self._db.transaction() as conn:
            head = conn.execute(
                "SELECT grp FROM queue_messages WHERE queue = ? GROUP BY grp "
                "HAVING MAX(visible_at) <= ? ORDER BY MIN(seq) LIMIT 1",
                (self.name, now),
            ).fetchone()
            if head is None:
                return []
            receipt = uuid.uuid4().hex
            rows = conn.execute(
                "SELECT seq, body, receive_count FROM queue_messages WHERE queue = ? AND grp = ? ORDER BY seq LIMIT ?",
                (self.name, head[0], max_messages),
            ).fetchall()
            conn.executemany(
                "UPDATE queue_messages SET visible_at = ?, receipt = ?, receive_count = receive_count + 1 "
                "WHERE seq = ?",
                [(now + visibility_timeout, receipt, seq) for seq, _, _ in rows],
            )
        # Committed before the function starts, with whatever its invocation did before: a
        # function that dies on these messages still counts as one of their receives.
        self._db.commit_now()
        return [
            QueueMessage(
                body=bytes(body),
                sequence=seq,
                group=head[0],
                message_id=str(seq),
                receive_count=count + 1,
                receipt=receipt,
                deadline=now + visibility_timeout,
            )
            for seq, body, count in rows
        ]

    def ack(self, message: QueueMessage) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM queue_messages WHERE seq = ? AND receipt = ?",
                (message.sequence, message.receipt),
            )

    def release(self, message: QueueMessage, delay: float = 0.0) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE queue_messages SET visible_at = ? WHERE seq = ? AND receipt = ?",
                (time.time() + delay, message.sequence, message.receipt),
            )

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        with self._db.transaction() as conn:
            deleted = conn.execute(
                "DELETE FROM queue_messages WHERE seq = ? AND receipt = ?",
                (message.sequence, message.receipt),
            ).rowcount
            if deleted:
                conn.execute(
                    "INSERT OR REPLACE INTO dead_letters VALUES (?, ?, ?, ?, ?, ?)",
                    (message.sequence, self.name, message.group, message.body, reason, time.time()),
                )

    def depth(self) -> int:
        return int(self._db.query("SELECT COUNT(*) FROM queue_messages WHERE queue = ?", (self.name,))[0][0])

    def dead_letters(self) -> list[tuple[int, str]]:
        """Sequence numbers and reasons of this queue's dead-lettered messages."""
        rows = self._db.query("SELECT seq, reason FROM dead_letters WHERE queue = ? ORDER BY seq", (self.name,))
        return [(int(seq), str(reason)) for seq, reason in rows]
