"""The v2 app's functions fed exactly what the Functions host builds, over Azurite's queues (system
and user storage in memory, the client channel recorded), and the function host's queue listener:
deletion, redelivery, poison after MAX_DEQUEUE dequeues."""

from __future__ import annotations

import inspect
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import azure.functions as func
import pytest
import requests
from azure.functions.timer import TimerRequest

from faaskeeper.api.channel import ChannelSender
from faaskeeper.config import Config
from faaskeeper.protocol.environment import ENV_CONFIG, function_environment
from faaskeeper.protocol.messages import Op, WriteRequest
from faaskeeper.protocol.sequencer import SequencedLog, SequencedQueue
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper_azure.emulator.servers import Emulators
from faaskeeper_azure.functions import handlers
from faaskeeper_azure.functions.function_app import app, app_settings, heartbeat_schedule
from faaskeeper_azure.functions.functions import Functions
from faaskeeper_azure.functions.host import FunctionHost, bindings, bound_message
from faaskeeper_azure.queues import MAX_DEQUEUE, Doorbells, Envelope, StorageQueues, WriterQueue, poison_queue
from faaskeeper_memory.system_storage import MemorySystemStorage
from faaskeeper_memory.user_storage import MemoryUserStorage


class RecordingChannel(ChannelSender):
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, address: str, message: bytes) -> None:
        self.sent.append((address, json.loads(message)))

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        self.send(address, message)
        return None

    def results(self) -> list[tuple[int, bool]]:
        return [(m["seq"], m["ok"]) for _, m in self.sent if m.get("kind") == "result"]


@pytest.fixture
def config(azure_emulators: Emulators) -> Config:
    return Config.deserialize(
        {
            "cloud-provider": "azure",
            "deployment-name": f"h{uuid.uuid4().hex[:8]}",
            "azure": {"storage-connection-string": azure_emulators.azurite.connection_string},
        }
    )


@pytest.fixture
def queues(config: Config) -> Iterator[StorageQueues]:
    settings = app_settings(config)
    opened = StorageQueues(settings["FK_STORAGE"])
    made = [settings["FK_WRITER_QUEUE"], settings["FK_DISTRIBUTOR_QUEUE"]]
    for name in [*made, *map(poison_queue, made)]:
        opened.client(name).create_queue()
    yield opened
    for name in [*made, *map(poison_queue, made)]:
        opened.client(name).delete_queue()
    opened.close()


class Parts:
    def __init__(self, config: Config, queues: StorageQueues) -> None:
        settings = app_settings(config)
        self.writer_queue = settings["FK_WRITER_QUEUE"]
        self.distributor_queue = settings["FK_DISTRIBUTOR_QUEUE"]
        self.system = MemorySystemStorage()
        self.user = MemoryUserStorage()
        self.channel = RecordingChannel()
        self.queues = queues
        self.sender = WriterQueue(queues, self.writer_queue)
        doorbells = Doorbells(queues, self.distributor_queue)
        log = SequencedQueue(SequencedLog(self.system), doorbells.ring)
        log.ensure()
        self.functions = Functions.over(
            FunctionSettings.from_config(config),
            system=self.system,
            user=self.user,
            channel=self.channel,
            writer_queue=self.sender,
            distributor_queue=log,
            doorbells=doorbells,
        )

    def send(self, op: Op, seq: int, session: str = "s1", token: str = "secret", **fields: Any) -> None:
        request = WriteRequest(op, session, token, seq, channel="tcp://127.0.0.1:1", **fields)
        self.sender.send(request.encode(), session, request.request_id)

    def feed(self, queue: str, handler: Callable[[func.QueueMessage], None], rng: random.Random | None = None) -> int:
        """Feed every message now in ``queue`` to ``handler`` as the host builds it (shuffled,
        some twice, with ``rng``), deleting it when the handler returns; how many were fed."""
        client = self.queues.client(queue)
        batch = list(client.receive_messages(max_messages=32, visibility_timeout=30))
        deliveries = list(batch)
        if rng is not None:
            deliveries += rng.sample(batch, len(batch) // 2)
            rng.shuffle(deliveries)
        for message in deliveries:
            handler(bound_message(message))
        for message in batch:
            client.delete_message(message)
        return len(batch)

    def poisoned(self, queue: str) -> list[str]:
        client = self.queues.client(poison_queue(queue))
        out = []
        for message in client.receive_messages(max_messages=32):
            out.append(str(message.content))
            client.delete_message(message)
        return out


@pytest.fixture
def parts(config: Config, queues: StorageQueues, monkeypatch: pytest.MonkeyPatch) -> Parts:
    made = Parts(config, queues)
    monkeypatch.setattr(handlers, "functions", lambda: made.functions)
    return made


def test_the_app_declares_its_functions_and_triggers_through_app_settings(config: Config) -> None:
    found = {b.name: b for b in bindings(app)}
    assert {name: b.trigger for name, b in found.items()} == {
        "writer": "queueTrigger",
        "distributor": "queueTrigger",
        "heartbeat": "timerTrigger",
        "watch": "httpTrigger",
    }
    for binding in found.values():  # the host passes the trigger under its binding's name
        assert list(inspect.signature(binding.function).parameters) == [binding.fields["name"]]
    assert found["writer"].fields["queueName"] == "%FK_WRITER_QUEUE%"
    assert found["heartbeat"].fields["schedule"] == "%FK_HEARTBEAT_SCHEDULE%"
    settings = app_settings(config)
    assert settings["FK_WRITER_QUEUE"] == f"fk-{config.deployment_name}-writer"
    assert Config.deserialize(json.loads(settings[ENV_CONFIG])).deployment_name == config.deployment_name


def test_heartbeat_schedules_are_ncrontab_with_seconds() -> None:
    assert heartbeat_schedule(5) == "*/5 * * * * *"
    assert heartbeat_schedule(0.2) == "*/1 * * * * *"
    assert heartbeat_schedule(120) == "0 */2 * * * *"


def test_a_message_fed_as_the_host_builds_it_carries_its_delivery(parts: Parts) -> None:
    parts.send(Op.REGISTER_SESSION, 1)
    seen: list[tuple[str, int, float]] = []

    def look(message: func.QueueMessage) -> None:
        text, delivery = handlers.delivery(message)
        seen.append((text, delivery.receive_count, delivery.deadline))

    parts.feed(parts.writer_queue, look)
    ((text, count, deadline),) = seen
    assert Envelope.decode(text).group == "s1"
    assert count == 1
    assert deadline > 0


def test_writes_go_through_writer_and_distributor_in_session_order_however_delivered(parts: Parts) -> None:
    parts.send(Op.REGISTER_SESSION, 1)
    assert parts.feed(parts.writer_queue, handlers.writer) == 1
    assert parts.system.read_session("s1") is not None
    for seq, name in enumerate("abcd", start=2):
        parts.send(Op.CREATE, seq, path=f"/{name}", data=name.encode())
    rng = random.Random(5)
    for _round in range(30):
        fed = parts.feed(parts.writer_queue, handlers.writer, rng) + parts.feed(
            parts.distributor_queue, handlers.distributor, rng
        )
        if not fed and len(parts.channel.results()) >= 5:
            break
        if not fed:
            time.sleep(0.5)  # a request sent again to wait for its turn is hidden for a second
    assert parts.channel.results() == [(1, True), (2, True), (3, True), (4, True), (5, True)]
    stats = [parts.user.read(f"/{name}") for name in "abcd"]
    assert [s.stat.czxid for s in stats if s is not None] == sorted(s.stat.czxid for s in stats if s is not None)
    assert parts.poisoned(parts.writer_queue) == []


def test_a_forged_request_is_dead_lettered_with_the_reason_and_never_applied(parts: Parts) -> None:
    parts.send(Op.REGISTER_SESSION, 1)
    parts.feed(parts.writer_queue, handlers.writer)
    parts.send(Op.CREATE, 2, token="stolen", path="/forged")
    parts.feed(parts.writer_queue, handlers.writer)
    (dead,) = parts.poisoned(parts.writer_queue)
    assert "wrong token" in json.loads(dead)["reason"]
    assert parts.feed(parts.distributor_queue, handlers.distributor) == 0
    assert parts.user.read("/forged") is None
    assert parts.functions.ordered._turns.done("s1") == 1


def test_a_body_that_is_not_text_or_not_a_doorbell_is_dead_lettered(parts: Parts) -> None:
    handlers.writer(func.QueueMessage(id="m1", body=b"\xff\xfe", pop_receipt="r"))
    (dead,) = parts.poisoned(parts.writer_queue)
    assert "not text" in json.loads(dead)["reason"]
    handlers.distributor(func.QueueMessage(id="m2", body=b'{"upto": "all"}', pop_receipt="r"))
    (dead,) = parts.poisoned(parts.distributor_queue)
    assert "without a transaction id" in json.loads(dead)["reason"]


def test_the_heartbeat_pings_sessions_and_rings_a_distributor_left_behind(parts: Parts) -> None:
    parts.send(Op.REGISTER_SESSION, 1)
    parts.feed(parts.writer_queue, handlers.writer)
    parts.send(Op.CREATE, 2, path="/x")
    parts.feed(parts.writer_queue, handlers.writer)
    client = parts.queues.client(parts.distributor_queue)
    for message in client.receive_messages(max_messages=32):
        client.delete_message(message)  # the doorbell is lost
    handlers.heartbeat(TimerRequest(past_due=False))
    assert any(m.get("kind") == "ping" for _, m in parts.channel.sent)
    assert parts.feed(parts.distributor_queue, handlers.distributor) == 1
    assert parts.user.read("/x") is not None


def test_the_watch_function_refuses_a_malformed_delivery_with_400(config: Config) -> None:
    with function_environment({ENV_CONFIG: json.dumps(config.serialize())}):
        for body in (b"not json", b'{"txn": "x"}'):
            response = handlers.watch(func.HttpRequest("POST", "http://h/api/watch", body=body))
            assert response.status_code == 400
            assert "error" in json.loads(response.get_body())


# -- the function host ----------------------------------------------------------------------


def _failing_app(calls: list[int]) -> func.FunctionApp:
    failing = func.FunctionApp()

    @failing.function_name("writer")
    @failing.queue_trigger(arg_name="msg", queue_name="%FK_WRITER_QUEUE%", connection="FK_STORAGE")
    def writer(msg: func.QueueMessage) -> None:
        calls.append(int(getattr(msg, "dequeue_count", 0) or 0))
        raise RuntimeError("always fails")

    return failing


def test_the_host_moves_a_message_that_failed_five_times_to_the_poison_queue(
    config: Config, queues: StorageQueues
) -> None:
    calls: list[int] = []
    host = FunctionHost(config, app=_failing_app(calls), schedule=False)
    name = app_settings(config)["FK_WRITER_QUEUE"]
    queues.send(name, "doomed")
    poller = host.poller(name)
    while poller.poll_once():
        pass
    assert calls == list(range(1, MAX_DEQUEUE + 1))
    assert [str(m.content) for m in queues.client(poison_queue(name)).receive_messages()] == ["doomed"]
    assert list(queues.client(name).receive_messages()) == []


def test_the_host_poisons_a_message_dequeued_too_often_without_invoking(config: Config, queues: StorageQueues) -> None:
    calls: list[int] = []
    host = FunctionHost(config, app=_failing_app(calls), schedule=False)
    name = app_settings(config)["FK_WRITER_QUEUE"]
    queues.send(name, "crashed")
    for _ in range(MAX_DEQUEUE):  # instances that died while handling it
        (message,) = queues.client(name).receive_messages(max_messages=1, visibility_timeout=1)
        queues.client(name).update_message(message, visibility_timeout=0)
    assert host.poller(name).poll_once()
    assert calls == []
    assert [str(m.content) for m in queues.client(poison_queue(name)).receive_messages()] == ["crashed"]


def test_the_host_serves_the_http_functions_under_api(config: Config, queues: StorageQueues) -> None:
    from faaskeeper_azure.emulator.servers import free_port

    endpoint = f"http://127.0.0.1:{free_port()}"
    host = FunctionHost(config, schedule=False, endpoint=endpoint)
    host.start()
    try:
        response = requests.post(f"{endpoint}/api/watch", data=b"not json", timeout=10)
        assert response.status_code == 400
        assert "not JSON" in response.json()["error"]
        assert requests.post(f"{endpoint}/api/nothing", data=b"", timeout=10).status_code == 404
    finally:
        host.stop()
