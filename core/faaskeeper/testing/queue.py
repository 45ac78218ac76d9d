"""Conformance of :class:`~faaskeeper.api.queue.PollingQueue`, on both queues of a deployment:
FIFO per group, one batch of a group in flight, visibility timeouts, release, dead letters, dedup."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from faaskeeper.api.provider import Capability
from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper.testing.fixtures import ConformanceFixtures, requires
from faaskeeper.testing.support import wait_until

#: Long enough that nothing becomes visible again by accident during a test.
HIDDEN = 60.0
#: Short enough to wait for.
SHORT = 0.3


def _send(queue: PollingQueue, body: bytes, group: str) -> int:
    return queue.send(body, group, uuid.uuid4().hex)


@requires(Capability.POLLING_QUEUES)
class PollingQueueSuite(ConformanceFixtures):
    """PollingQueue semantics the polling function host relies on."""

    @pytest.fixture(params=["writer", "distributor"])
    def polling_queue(
        self, request: pytest.FixtureRequest, writer_queue: PollingQueue, distributor_queue: PollingQueue
    ) -> PollingQueue:
        return writer_queue if request.param == "writer" else distributor_queue

    def test_fresh_queue_is_empty(self, polling_queue: PollingQueue) -> None:
        assert polling_queue.depth() == 0
        assert polling_queue.receive(10, HIDDEN) == []

    def test_sequence_numbers_increase_across_groups(self, polling_queue: PollingQueue) -> None:
        sent = [_send(polling_queue, f"m{i}".encode(), f"g{i % 3}") for i in range(9)]
        assert sent == sorted(sent)
        assert len(set(sent)) == len(sent)
        received: dict[bytes, QueueMessage] = {}
        while len(received) < len(sent):
            batch = polling_queue.receive(10, HIDDEN)
            assert batch, "messages went missing"
            for message in batch:
                received[message.body] = message
                polling_queue.ack(message)
        assert [received[f"m{i}".encode()].sequence for i in range(9)] == sent

    def test_fifo_within_each_group(self, polling_queue: PollingQueue) -> None:
        bodies = {"a": [f"a{i}".encode() for i in range(5)], "b": [f"b{i}".encode() for i in range(5)]}
        for i in range(5):
            _send(polling_queue, bodies["a"][i], "a")
            _send(polling_queue, bodies["b"][i], "b")
        seen: dict[str, list[bytes]] = {"a": [], "b": []}
        for _ in range(20):
            batch = polling_queue.receive(3, HIDDEN)
            if not batch:
                break
            assert len(batch) <= 3
            assert len({m.group for m in batch}) == 1, "a batch holds messages of one group"
            sequences = [m.sequence for m in batch]
            assert sequences == sorted(sequences)
            for message in batch:
                assert message.receive_count == 1
                seen[message.group].append(message.body)
                polling_queue.ack(message)
        assert seen == bodies
        assert polling_queue.depth() == 0

    def test_one_batch_of_a_group_in_flight(self, polling_queue: PollingQueue) -> None:
        bodies = {"a": [b"a1", b"a2"], "b": [b"b1", b"b2"]}
        for group in ("a", "b"):
            for body in bodies[group]:
                _send(polling_queue, body, group)
        first = polling_queue.receive(1, HIDDEN)
        assert len(first) == 1
        group = first[0].group
        other = "b" if group == "a" else "a"
        assert first[0].body == bodies[group][0], "a group is delivered from its oldest message"
        second = polling_queue.receive(10, HIDDEN)
        assert second, "another group must not wait for the one in flight"
        assert {m.group for m in second} == {other}
        assert [m.body for m in second] == bodies[other][: len(second)]
        assert polling_queue.receive(10, HIDDEN) == [], "nothing of a group is delivered while it has one in flight"
        assert polling_queue.depth() == 4, "depth counts messages in flight"
        polling_queue.ack(first[0])
        third = polling_queue.receive(10, HIDDEN)
        assert [m.body for m in third] == [bodies[group][1]]
        assert polling_queue.depth() == 3

    def test_unacked_message_is_redelivered_after_visibility_timeout(self, polling_queue: PollingQueue) -> None:
        _send(polling_queue, b"first", "g")
        _send(polling_queue, b"second", "g")
        # Its visibility timeout starts within the receive, so no earlier than this.
        receiving = time.monotonic()
        taken = polling_queue.receive(1, SHORT)
        assert [m.body for m in taken] == [b"first"]
        early = polling_queue.receive(1, SHORT)
        assert [m.body for m in early] in ([], [b"first"]), "the rest of a group waits while its head is in flight"
        # On a slow machine the timeout may be over already: then the message is there again.
        again = early or wait_until(lambda: polling_queue.receive(1, HIDDEN), self.settle_timeout, "the redelivery")
        assert time.monotonic() - receiving >= SHORT * 0.8, "redelivered before its visibility timeout"
        assert [m.body for m in again] == [b"first"], "a redelivery keeps the group's order"
        assert again[0].sequence == taken[0].sequence
        assert again[0].receive_count > taken[0].receive_count
        polling_queue.ack(again[0])
        assert [m.body for m in polling_queue.receive(10, HIDDEN)] == [b"second"]

    def test_release_makes_visible_again(self, polling_queue: PollingQueue) -> None:
        _send(polling_queue, b"m", "g")
        taken = polling_queue.receive(1, HIDDEN)
        polling_queue.release(taken[0])
        again = polling_queue.receive(1, HIDDEN)
        assert [m.sequence for m in again] == [taken[0].sequence]
        assert again[0].receive_count > taken[0].receive_count
        releasing = time.monotonic()
        polling_queue.release(again[0], delay=SHORT)
        early = polling_queue.receive(1, HIDDEN)
        # On a slow machine the delay may be over already: then the message is there again.
        last = early or wait_until(lambda: polling_queue.receive(1, HIDDEN), self.settle_timeout, "the delayed release")
        assert time.monotonic() - releasing >= SHORT * 0.8, "a delayed release stays hidden for its delay"
        assert last[0].body == b"m"

    def test_dead_letter_removes_and_the_group_goes_on(self, polling_queue: PollingQueue) -> None:
        _send(polling_queue, b"poison", "g")
        _send(polling_queue, b"next", "g")
        poison = polling_queue.receive(1, SHORT)
        polling_queue.dead_letter(poison[0], "malformed")
        assert polling_queue.depth() == 1
        following = polling_queue.receive(10, HIDDEN)
        assert [m.body for m in following] == [b"next"]
        polling_queue.ack(following[0])
        time.sleep(SHORT * 1.5)
        assert polling_queue.receive(10, HIDDEN) == [], "a dead-lettered message is never delivered again"
        assert polling_queue.depth() == 0

    def test_duplicate_send_is_queued_once(self, polling_queue: PollingQueue) -> None:
        first = polling_queue.send(b"m", "g", "dedup-1")
        second = polling_queue.send(b"m", "g", "dedup-1")
        other = polling_queue.send(b"m", "g", "dedup-2")
        assert first == second, "a resent message keeps its sequence number (the transaction id)"
        assert other > first
        assert polling_queue.depth() == 2
        batch = polling_queue.receive(10, HIDDEN)
        assert [m.sequence for m in batch] == [first, other]

    def test_binary_bodies_survive(self, polling_queue: PollingQueue) -> None:
        body = bytes(range(256)) * 16
        _send(polling_queue, body, "g")
        assert [m.body for m in polling_queue.receive(1, HIDDEN)] == [body]

    def test_concurrent_consumers_keep_group_order(self, polling_queue: PollingQueue) -> None:
        groups = [f"g{i}" for i in range(4)]
        for i in range(6):
            for group in groups:
                _send(polling_queue, f"{group}:{i}".encode(), group)
        consumed: list[bytes] = []
        guard = threading.Lock()

        def consume() -> None:
            idle = 0
            while idle < 20:
                batch = polling_queue.receive(2, HIDDEN)
                if not batch:
                    idle += 1
                    time.sleep(0.005)
                    continue
                idle = 0
                with guard:
                    consumed.extend(m.body for m in batch)
                for message in batch:
                    polling_queue.ack(message)

        threads = [threading.Thread(target=consume) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(consumed) == sorted(f"{g}:{i}".encode() for g in groups for i in range(6)), "once each"
        for group in groups:
            order = [b for b in consumed if b.startswith(f"{group}:".encode())]
            assert order == [f"{group}:{i}".encode() for i in range(6)], f"group {group} out of order"
        assert polling_queue.depth() == 0
