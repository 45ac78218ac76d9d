"""The core's sequenced log over a storage that is no cloud's (the memory plugin's): gapless
unique ids under concurrent appends, retried appends deduplicated, and a drain in id order
whatever order the doorbells come in."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from faaskeeper.api.queue import QueueMessage
from faaskeeper.api.storage import CreateItem, DeleteItem, Item, ItemKey, UpdateItem
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.sequencer import SequencedLog, SequencedQueue, record_id
from faaskeeper_memory.system_storage import MemorySystemStorage


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


@pytest.fixture
def storage() -> MemorySystemStorage:
    return MemorySystemStorage()


@pytest.fixture
def rung() -> list[int]:
    return []


@pytest.fixture(params=[False, True], ids=["reading", "fewer-reads"])
def queue(storage: MemorySystemStorage, rung: list[int], request: pytest.FixtureRequest) -> SequencedQueue:
    made = SequencedQueue(SequencedLog(storage, fewer_reads=request.param), rung.append)
    made.ensure()
    return made


class CountingStorage(MemorySystemStorage):
    """The memory plugin's storage, counting the items read."""

    def __init__(self) -> None:
        super().__init__()
        self.read: list[ItemKey] = []

    def read_items(self, keys: Sequence[ItemKey]) -> list[Item | None]:
        self.read.extend(keys)
        return super().read_items(keys)


def test_items_are_written_all_or_none(storage: MemorySystemStorage) -> None:
    assert storage.write_items([CreateItem(("a",), {"n": 1})]) is not None
    (item,) = storage.read_items([("a",)])
    assert item is not None
    assert storage.write_items([CreateItem(("b",), {"n": 2}), CreateItem(("a",), {"n": 3})]) is None
    assert storage.read_items([("a",), ("b",)]) == [item, None]
    written = storage.write_items([UpdateItem(("a",), {"n": 4}, item.version), DeleteItem(("c",))])
    assert written is not None
    assert storage.write_items([UpdateItem(("a",), {"n": 5}, item.version)]) is None
    (now,) = storage.read_items([("a",)])
    assert now is not None
    assert now.value == {"n": 4}
    assert now.version == written[0]


def test_concurrent_sends_get_unique_gapless_ids(queue: SequencedQueue, rung: list[int]) -> None:
    ids: list[int] = []
    guard = threading.Lock()

    def push(worker: int) -> None:
        for i in range(25):
            seq = queue.send(f"w{worker}-{i}".encode(), "distributor", f"w{worker}-{i}")
            with guard:
                ids.append(seq)

    threads = [threading.Thread(target=push, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == list(range(1, 101))
    assert sorted(rung) == sorted(ids)
    assert queue.positions() == (100, 0)


def test_a_retried_send_keeps_its_id(queue: SequencedQueue) -> None:
    first = queue.send(b"event", "distributor", "request-1:lock-a")
    assert queue.send(b"event", "distributor", "request-1:lock-a") == first
    assert queue.send(b"other", "distributor", "request-2:lock-b") == first + 1


def test_drain_applies_in_id_order_whatever_the_doorbell_order(queue: SequencedQueue) -> None:
    for i in range(1, 8):
        assert queue.send(f"e{i}".encode(), f"g{i % 2}", f"d{i}") == i
    recorder = Recorder()
    assert queue.drain(5, recorder.handle, recorder.dead_letter) == 5
    assert queue.drain(2, recorder.handle, recorder.dead_letter) == 0
    assert queue.drain(7, recorder.handle, recorder.dead_letter) == 2
    assert queue.drain(7, recorder.handle, recorder.dead_letter) == 0
    assert recorder.handled == [1, 2, 3, 4, 5, 6, 7]
    assert recorder.bodies[6] == b"e6"
    assert queue.positions() == (7, 7)


def test_drain_pages_through_a_long_log(queue: SequencedQueue) -> None:
    for i in range(1, 121):
        queue.send(b"e", "distributor", f"d{i}")
    recorder = Recorder()
    assert queue.drain(120, recorder.handle, recorder.dead_letter) == 120
    assert recorder.handled == list(range(1, 121))


def test_a_forged_doorbell_drains_only_what_exists(queue: SequencedQueue) -> None:
    queue.send(b"e1", "distributor", "d1")
    recorder = Recorder()
    assert queue.drain(10**12, recorder.handle, recorder.dead_letter) == 1
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
    assert queue.positions() == (3, 3)


def test_handled_records_and_their_dedup_items_leave_the_log(
    queue: SequencedQueue, storage: MemorySystemStorage
) -> None:
    for i in range(1, 4):
        queue.send(f"e{i}".encode(), "distributor", f"d{i}")
    queue.drain(3, Recorder().handle, Recorder().dead_letter)
    records = [("distributor", "records", record_id(i)) for i in range(1, 4)]
    assert storage.read_items(records) == [None, None, None]
    # With its dedup item gone, the same dedup id appends anew (the writer's redelivery window
    # ends long before an event is applied and its record dropped).
    assert queue.send(b"e1", "distributor", "d1") == 4


def test_a_doorbell_that_fails_to_ring_loses_no_event(storage: MemorySystemStorage) -> None:
    def broken(seq: int) -> None:
        raise ProviderException("no doorbell")

    queue = SequencedQueue(SequencedLog(storage), broken)
    queue.ensure()
    assert queue.send(b"e", "distributor", "d") == 1
    recorder = Recorder()
    assert queue.drain(1, recorder.handle, recorder.dead_letter) == 1


def test_a_log_not_created_names_the_problem(storage: MemorySystemStorage) -> None:
    queue = SequencedQueue(SequencedLog(storage), lambda seq: None)
    with pytest.raises(ProviderException, match="is the service deployed"):
        queue.send(b"e", "distributor", "d")
    with pytest.raises(ProviderException, match="is the service deployed"):
        queue.positions()


def test_with_fewer_reads_an_instance_appends_on_the_counter_it_wrote_and_drains_from_the_cursor() -> None:
    storage = CountingStorage()
    here, there = (SequencedQueue(SequencedLog(storage, fewer_reads=True), lambda seq: None) for _ in range(2))
    here.ensure()
    assert here.send(b"e1", "distributor", "d1") == 1
    storage.read.clear()
    assert here.send(b"e2", "distributor", "d2") == 2
    assert storage.read == [], "the counter as this instance wrote it"
    # Another instance appends: this one's view of the counter is stale, its batch fails, it reads.
    assert there.send(b"e3", "distributor", "d3") == 3
    assert here.send(b"e4", "distributor", "d4") == 4
    assert here.send(b"e4", "distributor", "d4") == 4, "a retried send keeps its id"
    storage.read.clear()
    recorder = Recorder()
    assert there.drain(3, recorder.handle, recorder.dead_letter) == 3
    assert storage.read == [("cursor",), *(("distributor", "records", record_id(i)) for i in (1, 2, 3))]
    assert there.drain(10**12, recorder.handle, recorder.dead_letter) == 1, "a forged doorbell drains what exists"
    assert recorder.handled == [1, 2, 3, 4]
    assert here.positions() == (4, 4)
