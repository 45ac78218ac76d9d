"""The distributor queue's transaction ids and ordered drain, against the Firestore and Pub/Sub
emulators, with no functions running: the test plays the distributor, so it decides in which
order doorbells arrive and where a handler fails."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from faaskeeper.api.queue import QueueMessage
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.sequencer import SequencedQueue
from faaskeeper_gcp.deployment import GcpDeployment


@pytest.fixture
def deployment(deployed: Callable[..., Config]) -> Iterator[GcpDeployment]:
    opened = get_provider("gcp").open(deployed())
    assert isinstance(opened, GcpDeployment)
    yield opened
    opened.close()


@pytest.fixture
def queue(deployment: GcpDeployment) -> SequencedQueue:
    return deployment.distributor_queue


class Recorder:
    def __init__(self, fail_on: set[int] | None = None, malformed: set[int] | None = None) -> None:
        self.handled: list[int] = []
        self.bodies: dict[int, bytes] = {}
        self.dead: list[tuple[int, str]] = []
        self.fail_on = fail_on or set()
        self.malformed = malformed or set()

    def handle(self, message: QueueMessage) -> None:
        self.handled.append(message.sequence)
        self.bodies[message.sequence] = message.body
        if message.sequence in self.fail_on:
            self.fail_on.discard(message.sequence)
            raise ProviderException("storage hiccup")
        if message.sequence in self.malformed:
            raise MalformedMessage("not an event")

    def dead_letter(self, message: QueueMessage, reason: str) -> None:
        self.dead.append((message.sequence, reason))


def test_concurrent_sends_get_unique_gapless_ids(queue: SequencedQueue) -> None:
    ids: list[int] = []
    guard = threading.Lock()

    def push(worker: int) -> None:
        for i in range(6):
            seq = queue.send(f"w{worker}-{i}".encode(), "distributor", f"w{worker}-{i}")
            with guard:
                ids.append(seq)

    threads = [threading.Thread(target=push, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == list(range(1, 25))
    assert queue.positions() == (24, 0)


def test_a_retried_send_keeps_its_id(queue: SequencedQueue) -> None:
    first = queue.send(b"event", "distributor", "request-1:lock-a")
    assert queue.send(b"event", "distributor", "request-1:lock-a") == first
    assert queue.send(b"other", "distributor", "request-2:lock-b") == first + 1


def test_drain_applies_in_id_order_whatever_the_doorbell_order(queue: SequencedQueue) -> None:
    for i in range(1, 8):
        assert queue.send(f"e{i}".encode(), "distributor", f"d{i}") == i
    recorder = Recorder()
    # Doorbells of 5, then 2, then 7 and 7 again (redelivered), then a late 1.
    assert queue.drain(5, recorder.handle, recorder.dead_letter) == 5
    assert queue.drain(2, recorder.handle, recorder.dead_letter) == 0
    assert queue.drain(7, recorder.handle, recorder.dead_letter) == 2
    assert queue.drain(7, recorder.handle, recorder.dead_letter) == 0
    assert queue.drain(1, recorder.handle, recorder.dead_letter) == 0
    assert recorder.handled == [1, 2, 3, 4, 5, 6, 7]
    assert recorder.bodies[6] == b"e6"
    assert queue.positions() == (7, 7)


def test_a_forged_doorbell_drains_only_what_exists(queue: SequencedQueue) -> None:
    queue.send(b"e1", "distributor", "d1")
    recorder = Recorder()
    assert queue.drain(10**12, recorder.handle, recorder.dead_letter) == 1
    assert recorder.handled == [1]
    assert queue.send(b"e2", "distributor", "d2") == 2


def test_a_failed_event_stays_first_and_is_handled_again(queue: SequencedQueue) -> None:
    for i in range(1, 4):
        queue.send(f"e{i}".encode(), "distributor", f"d{i}")
    recorder = Recorder(fail_on={2})
    with pytest.raises(ProviderException, match="hiccup"):
        queue.drain(3, recorder.handle, recorder.dead_letter)
    assert queue.positions() == (3, 1)
    assert queue.drain(3, recorder.handle, recorder.dead_letter) == 2
    assert recorder.handled == [1, 2, 2, 3]


def test_a_malformed_event_is_dead_lettered_and_skipped(queue: SequencedQueue) -> None:
    for i in range(1, 4):
        queue.send(f"e{i}".encode(), "distributor", f"d{i}")
    recorder = Recorder(malformed={2})
    assert queue.drain(3, recorder.handle, recorder.dead_letter) == 3
    assert recorder.dead == [(2, "not an event")]
    assert recorder.handled == [1, 2, 3]
    assert queue.positions() == (3, 3)


def test_handled_records_leave_the_log(queue: SequencedQueue, deployment: GcpDeployment) -> None:
    for i in range(1, 4):
        queue.send(f"e{i}".encode(), "distributor", f"d{i}")
    recorder = Recorder()
    queue.drain(3, recorder.handle, recorder.dead_letter)
    log = deployment.documents.collection("queues").document("distributor")
    assert list(log.collection("records").stream()) == []
    assert list(log.collection("dedup").stream()) == []


def test_send_without_a_deployment_names_the_problem(deployment: GcpDeployment) -> None:
    get_provider("gcp").remove(deployment.config)
    with pytest.raises(ProviderException, match="is the service deployed"):
        deployment.distributor_queue.send(b"e", "distributor", "d")
