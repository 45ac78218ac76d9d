"""The Pub/Sub client channel on the emulators, beyond the conformance suites: each client's own
inbox and answer topic, answers to requests, addresses it refuses, metering, and the inboxes of
sessions that ended: deleted by the client that stops, by the heartbeat after a killed client's
session expired, by the heartbeat when no session names them (a client killed before it
registered), and by ``fk remove service``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from faaskeeper.api.storage import SessionRecord
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.metering import difference
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import PING, pong
from faaskeeper.testing.processes import WorkerProcess
from faaskeeper.testing.support import Inbox, wait_until
from faaskeeper.watch import WatchedEvent
from faaskeeper_gcp.channel import GcpClientChannel
from faaskeeper_gcp.channel.inboxes import (
    ANSWER_ATTRIBUTE,
    ORPHAN_AGE,
    ClientInbox,
    client_resources,
    create_inbox,
    delete_all_inboxes,
    reap_orphan_inboxes,
)
from faaskeeper_gcp.channel.listener import PubSubListener
from faaskeeper_gcp.cost.metering import METER
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.errors import DeadlineExceeded
from faaskeeper_gcp.functions.host import FunctionServer
from faaskeeper_gcp.names import CLIENT_ID_LENGTH
from faaskeeper_gcp.settings import GcpSettings

from .fixtures import gcp_config


@pytest.fixture
def deployment(gcp: None) -> Iterator[GcpDeployment]:
    """The parts of a deployment with the Pub/Sub channel; nothing deployed: inboxes need no more."""
    opened = get_provider("gcp").open(gcp_config(channel="pubsub"))
    assert isinstance(opened, GcpDeployment)
    yield opened
    opened.close()


@pytest.fixture
def listener(deployment: GcpDeployment) -> Iterator[PubSubListener]:
    listener = deployment.listener()
    assert isinstance(listener, PubSubListener)
    yield listener
    listener.stop()


def test_listener_owns_an_inbox_and_an_answer_topic(deployment: GcpDeployment, listener: PubSubListener) -> None:
    listener.start(Inbox())
    names, project = deployment.settings.names, deployment.settings.project
    inbox, answers = names.client_inbox(listener.client_id), names.client_answers(listener.client_id)
    assert listener.address == f"pubsub:projects/{project}/topics/{inbox}"
    assert client_resources(deployment.settings) == ([inbox, answers], [inbox, answers])
    subscriber = deployment.settings.subscriber()
    assert subscriber.get_subscription(subscription=listener.inbox.subscription).enable_message_ordering
    listener.stop()
    assert client_resources(deployment.settings) == ([], [])


def test_ping_is_answered_with_the_session(deployment: GcpDeployment, listener: PubSubListener) -> None:
    listener.start(Inbox(answer=lambda message: pong("session-1") if message == PING else None))
    answer = deployment.channel.request(listener.address, PING, 30.0)
    assert answer is not None
    assert json.loads(answer)["session"] == "session-1"


def pull(deployment: GcpDeployment, subscription: str) -> list[bytes]:
    """What a pull finds waiting in ``subscription`` (the emulator answers an idle pull empty within 1 s)."""
    request = {"subscription": subscription, "max_messages": 10}
    try:
        pulled = deployment.settings.subscriber().pull(request=request, timeout=3.0, retry=None)
    except DeadlineExceeded:
        return []
    return [received.message.data for received in pulled.received_messages]


def test_request_drops_stale_answers(deployment: GcpDeployment, listener: PubSubListener) -> None:
    listener.start(Inbox(answer=lambda message: b"answer:" + message))
    for stale in ("an-earlier-request", "another"):
        deployment.topics.publish(listener.inbox.answers_id, b"stale", attributes={ANSWER_ATTRIBUTE: stale})
    assert deployment.channel.request(listener.address, b"now", 30.0) == b"answer:now"
    assert pull(deployment, listener.inbox.answers_subscription) == [], "stale answers are acknowledged"


def test_silent_client_gives_no_answer(deployment: GcpDeployment, listener: PubSubListener) -> None:
    inbox = Inbox()  # answers nothing
    listener.start(inbox)
    started = time.monotonic()
    assert deployment.channel.request(listener.address, PING, 0.5) is None
    # It gives up at its timeout: 10 s is far beyond it even on a slow machine.
    assert time.monotonic() - started < 10
    assert inbox.wait_for(1, 30.0) == [PING], "the client got the request"


def test_channel_messages_are_metered(deployment: GcpDeployment, listener: PubSubListener) -> None:
    inbox = Inbox()
    listener.start(inbox)
    before = METER.snapshot()
    deployment.channel.send(listener.address, b"x" * 2000)
    inbox.wait_for(1, 30.0)
    counted = difference(METER.snapshot(), before)
    assert counted[("pubsub", "messages")] == counted[("pubsub", "pulled")] == 1
    assert counted[("pubsub", "bytes")] == counted[("pubsub", "pulled bytes")] > 2000


@pytest.mark.parametrize(
    "address",
    [
        "pubsub:projects/other-project/topics/{inbox}",
        "pubsub:projects/{project}/topics/faaskeeper-other-client-0123456789abcdef",
        "pubsub:projects/{project}/topics/{inbox}-answers",
        "pubsub:projects/{project}/topics/{writer}",
        "pubsub:{inbox}",
        "udp://127.0.0.1:9",
    ],
)
def test_refuses_addresses_outside_the_deployments_inboxes(
    deployment: GcpDeployment, listener: PubSubListener, address: str
) -> None:
    inbox = Inbox(answer=lambda message: message)
    listener.start(inbox)
    settings = deployment.settings
    address = address.format(
        project=settings.project, inbox=listener.inbox.topic_id, writer=settings.names.topic("writer")
    )
    channel = GcpClientChannel(settings, deployment.topics)
    with pytest.raises(ProviderException):
        channel.send(address, b"forged")
    assert channel.request(address, PING, 0.2) is None
    channel.send(listener.address, b"genuine")
    assert inbox.wait_for(1, 30.0) == [b"genuine"]


@pytest.fixture
def running(deployed: Callable[..., Config], serve: Callable[..., FunctionServer]) -> Config:
    config = deployed(channel="pubsub")
    serve(config)
    return config


def client_channel(config: Config) -> tuple[list[str], list[str]]:
    """The client topics and client subscriptions of ``config``'s deployment."""
    settings = GcpSettings.from_config(config)
    try:
        return client_resources(settings)
    finally:
        settings.close()


def inboxes(config: Config) -> list[str]:
    return client_channel(config)[1]


def test_a_session_with_watches_and_a_killed_clients_inbox(running: Config) -> None:
    client = FaaSKeeperClient(running, timeout=20)
    client.start()
    events: list[WatchedEvent] = []

    try:
        assert len(inboxes(running)) == 2  # the inbox and the answer subscription
        client.create("/app", b"v1")
        assert client.get_data("/app", watch=events.append).data == b"v1"
        assert client.exists("/app/worker", watch=events.append) is None
        worker = WorkerProcess(running, 20)
        assert len(inboxes(running)) == 4
        worker.call("create", "/app/worker", ephemeral=True)
        worker.call("set_data", "/app", b"v2")
        wait_until(lambda: len(events) == 2, 10, "both notifications")
        assert [(e.event_type.name, e.path) for e in events] == [
            ("NODE_CREATED", "/app/worker"),
            ("NODE_DATA_CHANGED", "/app"),
        ]
        assert events[0].timestamp < events[1].timestamp, "notifications arrive in transaction order"
        shown = get_provider("gcp").status(running)
        assert shown["details"]["client inboxes"] == "2"
        assert sum(r["state"] == "client inbox, pull" for r in shown["resources"]) == 2

        worker.kill()
        wait_until(lambda: client.exists("/app/worker") is None, 20, "the killed client's ephemeral node to vanish")
        wait_until(lambda: len(inboxes(running)) == 2, 20, "the heartbeat to delete the killed client's inbox")
        assert client.get_data("/app").data == b"v2", "this client's own session goes on"
    finally:
        client.stop()
    assert inboxes(running) == [], "a client that stops deletes its inbox"


def test_remove_deletes_the_inboxes_clients_left(running: Config) -> None:
    worker = WorkerProcess(running, 20)
    worker.kill()
    assert len(inboxes(running)) == 2
    get_provider("gcp").remove(running)
    assert client_channel(running) == ([], [])


def labelled_inbox(settings: GcpSettings, made_ago: float) -> ClientInbox:
    """A client's inbox as the client left it ``made_ago`` seconds ago."""
    made = time.time() - made_ago
    return create_inbox(settings, uuid.uuid4().hex[:CLIENT_ID_LENGTH], clock=lambda: made)


def test_orphan_sweep_deletes_only_old_inboxes_that_no_session_names(deployment: GcpDeployment) -> None:
    settings, system = deployment.settings, deployment.system_storage
    old = ORPHAN_AGE + 60
    registered, ended, orphan, fresh = (labelled_inbox(settings, age) for age in (old, old, old, 0.0))
    system.create_session(SessionRecord("live", registered.address, "digest"))
    system.create_session(SessionRecord("closed", ended.address, "digest"))
    system.end_session("closed", time.time())  # its inbox is the ended-session reaper's, a session timeout later
    unknown = ClientInbox(settings.project, settings.names, uuid.uuid4().hex[:CLIENT_ID_LENGTH])
    settings.publisher().create_topic(request={"name": unknown.topic})  # no label: its age is not known
    try:
        assert reap_orphan_inboxes(settings, system, ORPHAN_AGE, time.time()) == 1
        topics, subscriptions = client_resources(settings)
        for kept in (registered, ended, fresh):
            assert {kept.topic_id, kept.answers_id} <= set(topics) & set(subscriptions)
        assert unknown.topic_id in topics
        assert not {orphan.topic_id, orphan.answers_id} & {*topics, *subscriptions}
    finally:
        delete_all_inboxes(settings)


def test_the_heartbeat_deletes_the_inbox_of_a_client_killed_before_it_registered(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer]
) -> None:
    config = deployed(channel="pubsub")
    opened = get_provider("gcp").open(config)
    assert isinstance(opened, GcpDeployment)
    killed = labelled_inbox(opened.settings, ORPHAN_AGE + 60)
    registering = opened.listener()  # a client about to register: its inbox made a moment ago
    assert isinstance(registering, PubSubListener)
    try:
        waiting = registering.inbox
        serve(config)
        wait_until(lambda: killed.topic_id not in client_channel(config)[0], 30, "the heartbeat to delete the inbox")
        assert inboxes(config) == [waiting.topic_id, waiting.answers_id], "a client about to register keeps its inbox"
    finally:
        registering.stop()
        opened.close()
