"""The writer and distributor queues on Azurite's Storage Queues, with no functions running: the
test plays the functions, and since Azurite happens to deliver in order, it shuffles and
duplicates the deliveries itself.

These stand in for the core's ``PollingQueueSuite``, which tests a queue that is FIFO per group,
keeps one batch of a group in flight and numbers its messages: Storage Queues do none of that, and
the provider restores the same guarantees above them. What the core suite asks of a queue, and
where it is tested here: FIFO per group and redelivery in order (each session in order whatever
the delivery order, failures and redeliveries included; a request whose instance died holds its
session until its delivery's end), one batch of a group in flight (one copy of a request at a
time; concurrent consumers), dead letters and the group going on, duplicates applied once, binary
bodies, and increasing sequence numbers (the distributor's log: gapless ids under concurrent
appends on Cosmos DB, a retried send keeping its id, applied in id order)."""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from azure.storage.queue import QueueClient

from faaskeeper.api.queue import QueueMessage
from faaskeeper.api.storage import SessionRecord, SessionStatus
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.batch import RetryLater
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import Op, WriteRequest
from faaskeeper.protocol.sequencer import SequencedLog, SequencedQueue
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper.testing.pytest_plugin import Deploy
from faaskeeper_azure.deployment import AzureDeployment
from faaskeeper_azure.emulator.servers import Emulators
from faaskeeper_azure.queues import (
    Doorbells,
    Envelope,
    OrderedWriter,
    Payloads,
    SessionTurns,
    StorageQueues,
    Turn,
    WriterQueue,
    doorbell_sequence,
    poison_queue,
)
from faaskeeper_memory.system_storage import MemorySystemStorage


@pytest.fixture
def queues(azure_emulators: Emulators) -> Iterator[StorageQueues]:
    opened = StorageQueues(azure_emulators.azurite.connection_string)
    yield opened
    opened.close()


@pytest.fixture
def names(queues: StorageQueues) -> Iterator[tuple[str, str]]:
    """A fresh writer and distributor queue (and their poison queues)."""
    prefix = f"fk-q{uuid.uuid4().hex[:10]}"
    made = [f"{prefix}-writer", f"{prefix}-distributor"]
    for name in [*made, *map(poison_queue, made)]:
        queues.client(name).create_queue()
    yield made[0], made[1]
    for name in [*made, *map(poison_queue, made)]:
        queues.client(name).delete_queue()


def received(queues: StorageQueues, name: str, wait: float = 0.0) -> list[tuple[str, QueueMessage]]:
    """Every message now visible in ``name`` (after ``wait`` seconds), deleted from it, as
    (text, delivery)."""
    time.sleep(wait)
    client = queues.client(name)
    out: list[tuple[str, QueueMessage]] = []
    while True:
        batch = list(client.receive_messages(max_messages=32, visibility_timeout=30))
        if not batch:
            return out
        for message in batch:
            client.delete_message(message)
            delivery = QueueMessage(
                body=b"", sequence=0, group="", message_id=message.id, receive_count=message.dequeue_count or 0
            )
            out.append((str(message.content), delivery))


def poisoned(queues: StorageQueues, name: str) -> list[dict[str, str]]:
    return [json.loads(text) for text, _ in received(queues, poison_queue(name))]


# -- the wire -----------------------------------------------------------------------------


def test_bodies_are_base64_text_on_the_wire(
    queues: StorageQueues, names: tuple[str, str], azure_emulators: Emulators
) -> None:
    writer, distributor = names
    WriterQueue(queues, writer).send(b'{"op": "create"}', "session-a", "session-a:1")
    Doorbells(queues, distributor).ring(7)
    raw = QueueClient.from_connection_string(azure_emulators.azurite.connection_string, writer)
    (message,) = raw.receive_messages(max_messages=1)
    envelope = Envelope.decode(base64.b64decode(str(message.content)).decode())
    assert envelope == Envelope(b'{"op": "create"}', "session-a", "session-a:1")
    ((text, _),) = received(queues, distributor)
    assert doorbell_sequence(text) == 7


def test_binary_bodies_survive_the_envelope() -> None:
    body = bytes(range(256))
    assert Envelope.decode(Envelope(body, "g", "d").encode()).body == body


@pytest.mark.parametrize("text", ["", "[]", '{"upto": "7"}', '{"upto": -1}', '{"upto": true}', "not json"])
def test_a_doorbell_without_an_id_is_malformed(text: str) -> None:
    with pytest.raises(MalformedMessage):
        doorbell_sequence(text)


def test_an_oversized_message_is_refused_before_sending(queues: StorageQueues, names: tuple[str, str]) -> None:
    with pytest.raises(ProviderException, match="64 KiB"):
        WriterQueue(queues, names[0]).send(b"x" * 60_000, "g", "d")


# -- the distributor queue: the core's sequencer with Storage Queue doorbells -------------


def test_shuffled_and_duplicated_doorbells_apply_the_log_in_id_order(
    queues: StorageQueues, names: tuple[str, str]
) -> None:
    storage = MemorySystemStorage()
    doorbells = Doorbells(queues, names[1])
    queue = SequencedQueue(SequencedLog(storage), doorbells.ring)
    queue.ensure()
    for i in range(1, 9):
        assert queue.send(f"e{i}".encode(), "distributor", f"d{i}") == i
    rings = [doorbell_sequence(text) for text, _ in received(queues, names[1])]
    assert sorted(rings) == list(range(1, 9))
    deliveries = rings + rings[::3]
    random.Random(7).shuffle(deliveries)
    handled: list[int] = []
    for upto in deliveries:
        queue.drain(upto, lambda message: handled.append(message.sequence), lambda message, reason: None)
    assert handled == list(range(1, 9))
    assert queue.positions() == (8, 8)


# -- the writer queue: FIFO per session under reordering, duplicates and redelivery -------


class Sessions:
    """What the test's writer saw, per session, and which sessions are alive."""

    def __init__(self, storage: MemorySystemStorage) -> None:
        self.turns = SessionTurns(storage)
        self.alive: set[str] = set()
        self.ended: set[str] = set()
        self.first: dict[str, list[int]] = {}
        self.handled: list[tuple[str, int]] = []
        self.fail: set[tuple[str, int]] = set()
        self.forged: set[tuple[str, int]] = set()

    def read(self, session_id: str) -> SessionRecord | None:
        if session_id in self.alive:
            return SessionRecord(session_id, "", "")
        if session_id in self.ended:
            return SessionRecord(session_id, "", "", status=SessionStatus.DRAINED)
        return None

    def handle(self, message: QueueMessage) -> None:
        request = WriteRequest.decode(message.body, 1 << 20)
        key = (request.session_id, request.seq)
        assert message.receive_count == 0  # any delivery may be a redelivery
        if key in self.forged:
            raise MalformedMessage("wrong token")
        if key in self.fail:
            self.fail.discard(key)
            raise ProviderException("storage hiccup")
        # The writer is handed a request of a live session only on its turn (claimed for it: no
        # other copy runs) or once it was finished.
        state = self.turns.state(request.session_id)
        assert request.session_id not in self.alive or request.seq <= state.done or state.claim == request.seq
        self.handled.append(key)
        seen = self.first.setdefault(request.session_id, [])
        if request.seq not in seen:
            seen.append(request.seq)


def request(session: str, seq: int, op: Op = Op.CREATE) -> bytes:
    path = f"/{session}-{seq}"
    return WriteRequest(op, session, "token", seq, path=path if op is Op.CREATE else "/").encode()


@pytest.fixture
def ordered(queues: StorageQueues, names: tuple[str, str]) -> tuple[OrderedWriter, Sessions]:
    sessions = Sessions(MemorySystemStorage())
    writer = OrderedWriter(WriterQueue(queues, names[0]), sessions.turns, sessions.read, wait_limit=30.0, patience=0.0)
    return writer, sessions


def consume(
    queues: StorageQueues,
    name: str,
    process: Callable[[str, QueueMessage], None],
    rng: random.Random,
    rounds: int = 40,
) -> None:
    """Deliver everything in ``name``, shuffled, some twice, until it stays empty; a message
    whose processing raised is delivered again."""
    idle = 0
    while idle < 2 and rounds:
        rounds -= 1
        batch = received(queues, name, wait=0.0 if idle == 0 else 1.1)
        if not batch:
            idle += 1
            continue
        idle = 0
        batch += rng.sample(batch, len(batch) // 3)
        rng.shuffle(batch)
        for text, delivery in batch:
            try:
                process(text, delivery)
            except Exception:
                queues.send(name, text)


def test_each_session_is_handled_in_order_whatever_the_delivery_order(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sender = WriterQueue(queues, names[0])
    sessions.alive |= {"alpha", "beta"}
    for seq in range(1, 7):
        for session in ("alpha", "beta"):
            sender.send(request(session, seq), session, f"{session}:{seq}")
    sessions.fail = {("alpha", 3), ("beta", 5)}
    consume(queues, names[0], lambda text, d: writer.process(text, d, sessions.handle), random.Random(3))
    assert sessions.first == {"alpha": [1, 2, 3, 4, 5, 6], "beta": [1, 2, 3, 4, 5, 6]}
    assert sessions.turns.done("alpha") == sessions.turns.done("beta") == 6
    assert poisoned(queues, names[0]) == []


def test_a_request_of_an_ended_session_does_not_wait(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sessions.ended.add("gone")
    WriterQueue(queues, names[0]).send(request("gone", 4), "gone", "gone:4")
    ((text, delivery),) = received(queues, names[0])
    writer.process(text, delivery, sessions.handle)
    assert sessions.handled == [("gone", 4)]
    assert sessions.turns.done("gone") == 0


def test_expiry_and_sweep_wait_for_nothing_and_an_ended_session_is_forgotten(
    ordered: tuple[OrderedWriter, Sessions],
) -> None:
    writer, sessions = ordered
    sessions.turns.finished("s", 3)
    expiry = WriteRequest(Op.EXPIRE_SESSION, "s", "proof", 0)
    delivery = QueueMessage(b"", 0, "", "m1")
    writer.process(Envelope(expiry.encode(), "s", "s:expire").encode(), delivery, lambda message: None)
    assert sessions.turns.done("s") == 0  # the session is not alive: its turn is forgotten
    sessions.alive.add("t")
    sessions.turns.finished("t", 3)
    expiry = WriteRequest(Op.EXPIRE_SESSION, "t", "proof", 0)
    writer.process(Envelope(expiry.encode(), "t", "t:expire").encode(), delivery, lambda message: None)
    assert sessions.turns.done("t") == 3  # the session answered again and lives on


def test_a_held_close_is_sent_again_with_its_delay(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sessions.alive.add("s")
    sessions.turns.finished("s", 1)

    def held(message: QueueMessage) -> None:
        raise RetryLater("leases outstanding", 0.2)

    text = Envelope(request("s", 2, Op.DEREGISTER_SESSION), "s", "s:2").encode()
    writer.process(text, QueueMessage(b"", 0, "", "m1"), held)
    assert received(queues, names[0]) == []  # hidden for a second
    ((again, _),) = received(queues, names[0], wait=1.2)
    assert Envelope.decode(again).body == request("s", 2, Op.DEREGISTER_SESSION)
    assert sessions.turns.done("s") == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ('{"dedup": "d", "body": "{}"}', "without a group"),
        ('{"group": "g", "body64": "***"}', "not base64"),
        ('{"group": "g", "body": "{\\"op\\": \\"launch\\"}"}', ""),
    ],
)
def test_malformed_messages_are_dead_lettered_with_the_reason(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions], text: str, reason: str
) -> None:
    writer, sessions = ordered
    writer.process(text, QueueMessage(b"", 0, "", "m1"), sessions.handle)
    ((dead),) = poisoned(queues, names[0])
    assert dead["message"] == text
    assert reason in dead["reason"]
    assert dead["source"] == names[0]
    assert sessions.handled == []


def test_a_forged_request_is_dead_lettered_and_never_moves_the_session_on(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sessions.alive.add("s")
    sessions.forged.add(("s", 1))
    text = Envelope(request("s", 1), "s", "s:1").encode()
    writer.process(text, QueueMessage(b"", 0, "", "m1"), sessions.handle)
    ((dead),) = poisoned(queues, names[0])
    assert dead["reason"] == "wrong token"
    assert sessions.turns.done("s") == 0


def test_a_request_whose_predecessor_never_comes_is_dead_lettered_after_the_wait_limit(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sessions.alive.add("s")
    writer.wait_limit = 0.5
    text = Envelope(request("s", 2), "s", "s:2").encode()
    writer.process(text, QueueMessage(b"", 0, "", "m1"), sessions.handle)
    ((again, delivery),) = received(queues, names[0], wait=1.2)
    assert Envelope.decode(again).waiting_since > 0
    writer.process(again, delivery, sessions.handle)
    ((dead),) = poisoned(queues, names[0])
    assert "waited" in dead["reason"]
    assert "request 1" in dead["reason"]
    assert sessions.handled == []


def test_a_request_failing_its_last_delivery_is_dead_lettered_and_its_session_goes_on(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sessions.alive.add("s")
    sessions.turns.finished("s", 1)

    def failing(message: QueueMessage) -> None:
        raise ProviderException("storage hiccup")

    text = Envelope(request("s", 2), "s", "s:2").encode()
    with pytest.raises(ProviderException):
        writer.process(text, QueueMessage(b"", 0, "", "m1", receive_count=4), failing)
    assert sessions.turns.done("s") == 1
    writer.process(text, QueueMessage(b"", 0, "", "m1", receive_count=5), failing)
    ((dead),) = poisoned(queues, names[0])
    assert "failed 5 times" in dead["reason"]
    assert "storage hiccup" in dead["reason"]
    assert sessions.turns.done("s") == 2
    writer.process(text, QueueMessage(b"", 0, "", "m1", receive_count=6), failing)
    ((dead),) = poisoned(queues, names[0])
    assert "delivered 6 times" in dead["reason"]


def test_a_request_too_large_for_a_message_travels_as_a_blob(
    azure_emulators: Emulators, queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azure_emulators.azurite.connection_string)
    container = service.create_container(f"payloads-{uuid.uuid4().hex[:8]}")
    try:
        payloads = Payloads(container)
        sender = WriterQueue(queues, names[0], payloads)
        _, sessions = ordered
        writer = OrderedWriter(sender, sessions.turns, sessions.read, wait_limit=30.0, patience=0.0)
        sessions.alive.add("s")
        data = bytes(range(256)) * 400
        big = WriteRequest(Op.CREATE, "s", "token", 1, path="/big", data=data).encode()
        sender.send(big, "s", "s:1")
        ((text, delivery),) = received(queues, names[0])
        assert Envelope.decode(text).payload
        seen: list[bytes] = []
        writer.process(text, delivery, lambda message: seen.append(WriteRequest.decode(message.body, 1 << 20).data))
        assert seen == [data]
        assert list(container.list_blobs()) == []  # deleted once handled
        writer.process(text, delivery, sessions.handle)  # a later copy: finished, its payload gone
        ((dead),) = poisoned(queues, names[0])
        assert "gone" in dead["reason"]
    finally:
        container.delete_container()


def test_one_copy_of_a_request_is_handled_at_a_time() -> None:
    turns = SessionTurns(MemorySystemStorage())
    assert turns.take("s", 1, prev=0, until=time.time() + 30) is Turn.NOW
    assert turns.take("s", 1, prev=0, until=time.time() + 30) is Turn.EARLY  # a duplicate copy waits
    turns.release("s", 1)
    assert turns.take("s", 1, prev=0, until=time.time() + 30) is Turn.NOW  # the handling failed: again
    turns.finished("s", 1, prev=0)
    assert turns.take("s", 1, prev=0) is Turn.AGAIN
    assert turns.take("s", 2, prev=1, until=time.time() - 1) is Turn.NOW
    assert turns.take("s", 2, prev=1) is Turn.NOW  # a claim past its delivery's deadline is taken over


def test_a_request_whose_send_failed_is_skipped_and_never_applied_after_later_ones(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sessions.alive.add("s")
    sender = WriterQueue(queues, names[0])
    sender.send(request("s", 1, Op.REGISTER_SESSION), "s", "s:1")
    lost = Envelope(request("s", 2), "s", "s:2", prev=1).encode()  # its sender saw the send fail...
    sender.send(request("s", 3), "s", "s:3")  # ...and sent the next after request 1
    deliveries = received(queues, names[0])
    assert [Envelope.decode(text).prev for text, _ in deliveries] == [0, 1]
    for text, delivery in reversed(deliveries):
        writer.process(text, delivery, sessions.handle)
    for text, delivery in received(queues, names[0], wait=1.1):
        writer.process(text, delivery, sessions.handle)
    assert sessions.first == {"s": [1, 3]}
    writer.process(lost, QueueMessage(b"", 0, "", "late"), sessions.handle)  # ...but it arrives after all
    ((dead),) = poisoned(queues, names[0])
    assert "given up by its sender" in dead["reason"]
    assert sessions.first == {"s": [1, 3]}
    assert sessions.turns.state("s").skipped == (2,)


def test_a_registration_delivered_again_after_its_session_ended_leaves_no_turn_behind(
    ordered: tuple[OrderedWriter, Sessions],
) -> None:
    writer, sessions = ordered
    text = Envelope(request("gone", 1, Op.REGISTER_SESSION), "gone", "gone:1", prev=0).encode()
    writer.process(text, QueueMessage(b"", 0, "", "m1"), sessions.handle)
    assert sessions.handled == [("gone", 1)]
    assert sessions.turns.state("gone") == SessionTurns(MemorySystemStorage()).state("gone")


def test_a_request_of_a_session_not_registered_yet_waits_for_the_registration(
    queues: StorageQueues, names: tuple[str, str], ordered: tuple[OrderedWriter, Sessions]
) -> None:
    writer, sessions = ordered
    sender = WriterQueue(queues, names[0])
    sender.send(request("new", 1, Op.REGISTER_SESSION), "new", "new:1")
    sender.send(request("new", 2), "new", "new:2")
    registration, create = received(queues, names[0])
    writer.process(*create, sessions.handle)  # the create overtook the registration
    assert sessions.handled == []
    sessions.alive.add("new")
    writer.process(*registration, sessions.handle)
    for text, delivery in received(queues, names[0], wait=1.1):
        writer.process(text, delivery, sessions.handle)
    assert sessions.handled == [("new", 1), ("new", 2)]


# -- the guarantees of the core's queue suite, as the provider keeps them ----------------


@pytest.fixture
def deployment(azure_emulators: Emulators, deploy: Deploy, deployment_name: str) -> Iterator[AzureDeployment]:
    provider = get_provider("azure")
    config: Config = deploy(
        provider,
        {"cloud-provider": "azure", "deployment-name": deployment_name, "azure": azure_emulators.config_section()},
    )
    opened = provider.open(config)
    assert isinstance(opened, AzureDeployment)
    yield opened
    opened.close()


def test_the_log_on_cosmos_gives_concurrent_sends_gapless_increasing_ids_once_each(
    deployment: AzureDeployment,
) -> None:
    queue = deployment.distributor_queue
    ids: dict[str, int] = {}
    guard = threading.Lock()

    def push(worker: int) -> None:
        for i in range(5):
            dedup = f"w{worker}-{i}"
            seq = queue.send(dedup.encode(), "distributor", dedup)
            with guard:
                ids[dedup] = seq

    threads = [threading.Thread(target=push, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids.values()) == list(range(1, 21))
    for worker in range(4):
        own = [ids[f"w{worker}-{i}"] for i in range(5)]
        assert own == sorted(own), "one sender's events are in its order"
    assert queue.send(b"w0-0", "distributor", "w0-0") == ids["w0-0"], "a retried send keeps its id"
    handled: list[tuple[int, bytes]] = []
    queue.drain(20, lambda message: handled.append((message.sequence, message.body)), lambda m, r: None)
    assert handled == sorted((seq, dedup.encode()) for dedup, seq in ids.items())
    assert queue.positions() == (20, 20)


def test_concurrent_consumers_keep_each_sessions_order_one_copy_at_a_time(
    queues: StorageQueues, names: tuple[str, str]
) -> None:
    """Three instances take the writer queue's messages at once, some delivered twice: each
    session's requests reach the writer in order, never two unfinished ones of a session at once
    (a copy of a finished request may run beside the next: the writer only answers it again)."""
    sessions = Sessions(MemorySystemStorage())
    writer = OrderedWriter(WriterQueue(queues, names[0]), sessions.turns, sessions.read, wait_limit=60.0, patience=0.2)
    sender = WriterQueue(queues, names[0])
    groups = ["a", "b", "c"]
    sessions.alive |= set(groups)
    for seq in range(1, 6):
        for session in groups:
            sender.send(request(session, seq), session, f"{session}:{seq}")
    busy: set[str] = set()
    overlaps: list[str] = []
    guard = threading.Lock()

    def handle(message: QueueMessage) -> None:
        request = WriteRequest.decode(message.body, 1 << 20)
        session = request.session_id
        if request.seq <= sessions.turns.done(session):
            sessions.handle(message)  # finished before: answered again
            return
        with guard:
            if session in busy:
                overlaps.append(session)
            busy.add(session)
        try:
            time.sleep(0.01)
            sessions.handle(message)
        finally:
            with guard:
                busy.discard(session)

    def consume(seed: int) -> None:
        rng, client, idle = random.Random(seed), queues.client(names[0]), 0
        while idle < 25:
            batch = list(client.receive_messages(max_messages=4, visibility_timeout=30))
            if not batch:
                idle += 1
                time.sleep(0.1)
                continue
            idle = 0
            for message in batch:
                client.delete_message(message)
                delivery = QueueMessage(b"", 0, "", message.id, deadline=time.time() + 30)
                for _copy in range(2 if rng.random() < 0.3 else 1):
                    writer.process(str(message.content), delivery, handle)

    threads = [threading.Thread(target=consume, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [], "two unfinished requests of a session were handled at once"
    assert sessions.first == {group: [1, 2, 3, 4, 5] for group in groups}
    assert poisoned(queues, names[0]) == []


def test_a_request_whose_instance_died_holds_its_session_until_its_delivery_ends(
    ordered: tuple[OrderedWriter, Sessions],
) -> None:
    """As a FIFO queue keeps a group behind a message in flight: the next request waits while
    the dead instance's delivery lasts, then the request comes again first."""
    writer, sessions = ordered
    sessions.alive.add("s")
    first = Envelope(request("s", 1), "s", "s:1", prev=0).encode()
    second = Envelope(request("s", 2), "s", "s:2", prev=1).encode()

    def die(message: QueueMessage) -> None:
        raise FunctionCrash("writer.locked")

    ends = time.time() + 1.0
    with pytest.raises(FunctionCrash):
        writer.process(first, QueueMessage(b"", 0, "", "m1", deadline=ends), die)
    assert sessions.turns.take("s", 2, prev=1) is Turn.EARLY, "the session waits for the dead delivery"
    assert sessions.handled == []
    time.sleep(max(0.0, ends - time.time()) + 0.05)
    writer.process(first, QueueMessage(b"", 0, "", "m1", deadline=time.time() + 30), sessions.handle)
    writer.process(second, QueueMessage(b"", 0, "", "m2", deadline=time.time() + 30), sessions.handle)
    assert sessions.first == {"s": [1, 2]}
