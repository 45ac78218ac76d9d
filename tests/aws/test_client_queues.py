"""The client queues of ended sessions (``client-channel: sqs``) on moto: a client that dies leaves
its queues behind, and the heartbeat deletes them a session timeout after its session ended; a
live session's queues stay, a client silent through its expiry still learns it, and a closed
session leaves nothing. A client that dies before registering leaves queues no session names: the
heartbeat deletes them once they are older than a registration takes, and never younger ones."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import pytest

from faaskeeper.api.storage import SessionRecord, SessionStatus
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import SessionExpiredException
from faaskeeper.metering import difference
from faaskeeper.protocol.heartbeat import HeartbeatFunction
from faaskeeper.protocol.messages import PING, Op, pong
from faaskeeper.testing.processes import WorkerProcess
from faaskeeper.testing.support import HandSession, Inbox, session_ended, wait_until
from faaskeeper_aws.channel import client_queues as queue_module
from faaskeeper_aws.channel.client_queues import answer_queue, create_client_queues, queue_name, reap_ended_queues
from faaskeeper_aws.channel.listener import SqsListener
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.deploy.remove import client_queues
from faaskeeper_aws.deployment import AwsDeployment
from faaskeeper_aws.functions.functions import function_settings
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.queues import sqs_client
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.session_ends import ENDED_PREFIX
from faaskeeper_aws.storage.system import DynamoDbSystemStorage

TIMEOUT = 20.0


def queues(settings: AwsSettings) -> list[str]:
    """The names of the deployment's client queues."""
    return sorted(queue_name(url) for url in client_queues(settings))


def own_queues(storage: DynamoDbSystemStorage, session_id: str) -> list[str]:
    """The names of a live session's inbox and answer queue."""
    session = storage.read_session(session_id)
    assert session is not None
    inbox = queue_name(session.channel)
    return sorted([inbox, answer_queue(inbox)])


@pytest.fixture
def running(stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator]) -> Callable[..., Config]:
    """A deployment with the SQS client channel whose functions run in the Lambda emulator."""

    def make(**options: float) -> Config:
        config = stackless(channel="sqs", **options)
        emulate(config)
        return config

    return make


def test_a_killed_clients_queues_go_a_session_timeout_after_its_session(running: Callable[..., Config]) -> None:
    config = running()
    settings = AwsSettings.from_config(config)
    storage = DynamoDbSystemStorage(settings)
    grace = config.effective_session_timeout
    with FaaSKeeperClient(config, timeout=TIMEOUT) as client:
        assert client.session_id is not None
        live = own_queues(storage, client.session_id)
        worker = WorkerProcess(config, TIMEOUT)
        killed = own_queues(storage, worker.session_id)
        assert queues(settings) == sorted(live + killed)
        worker.call("create", "/eph", ephemeral=True)

        worker.kill()
        wait_until(lambda: session_ended(storage, worker.session_id), TIMEOUT, "the killed client's expiry")
        ended = wait_until(lambda: storage.session_channels().ended, TIMEOUT, "the record of its end")
        assert [e.session_id for e in ended] == [worker.session_id]
        assert set(killed) <= set(queues(settings)), "kept while the client may still read its notice"
        wait_until(lambda: queues(settings) == live, TIMEOUT, "the killed client's queues to go", interval=0.2)
        assert time.time() - ended[0].ended >= grace, "deleted only a session timeout after the session ended"
        assert storage.session_channels().ended == [], "the ended session is forgotten with its queues"
        assert client.exists("/eph") is None
        client.create("/after", b"this client's session and queues go on")
        assert queues(settings) == live
    assert queues(settings) == [], "a client that stops deletes its queues"


def test_a_closed_session_leaves_nothing(running: Callable[..., Config]) -> None:
    config = running()
    settings = AwsSettings.from_config(config)
    storage = DynamoDbSystemStorage(settings)
    worker = WorkerProcess(config, TIMEOUT)
    assert len(queues(settings)) == 2
    assert worker.stop() == 0
    assert queues(settings) == []
    wait_until(lambda: not storage.session_channels().ended, TIMEOUT, "the closed session to be forgotten", 0.2)
    # Its record is kept, drained, while its registration could still be delivered again; then the
    # heartbeat deletes it.
    assert [s.status for s in storage.list_sessions()] == [SessionStatus.DRAINED]
    deployment = AwsDeployment(config, settings)
    timing = function_settings(config, settings, storage.lease_key())
    later = replace(timing, clock=lambda: time.time() + timing.redelivery_window + timing.session_timeout)
    HeartbeatFunction(storage, deployment.writer_queue, deployment.channel, later).run()
    items = settings.client("dynamodb").scan(TableName=settings.names.sessions_table, ConsistentRead=True)
    assert items["Items"] == [], "no trace of the session in the sessions table"


#: A client killed after it created its queues and before it registered a session with them.
_CLIENT_THAT_DIES_BEFORE_REGISTERING = """
import json, sys, time
from faaskeeper.config import Config
from faaskeeper_aws.channel.listener import SqsListener
from faaskeeper_aws.settings import AwsSettings
listener = SqsListener(AwsSettings.from_config(Config.deserialize(json.loads(sys.argv[1]))))
print(listener.address, flush=True)
time.sleep(600)
"""


def test_the_heartbeat_deletes_the_queues_of_a_client_killed_before_registering(
    running: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A registration window the test can wait for; the functions run in this process and read it.
    monkeypatch.setattr(queue_module, "REGISTRATION_WINDOW", 2.0, raising=False)
    config = running()
    settings = AwsSettings.from_config(config)
    storage = DynamoDbSystemStorage(settings)
    client = subprocess.Popen(
        [sys.executable, "-c", _CLIENT_THAT_DIES_BEFORE_REGISTERING, json.dumps(config.serialize())],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        address = client.stdout.readline().strip()
        assert address.startswith("sqs:"), address
    finally:
        client.kill()
        client.wait()
    dead = sorted([queue_name(address), answer_queue(queue_name(address))])
    with FaaSKeeperClient(config, timeout=TIMEOUT) as alive:
        assert alive.session_id is not None
        live = own_queues(storage, alive.session_id)
        assert queues(settings) == sorted(live + dead)
        wait_until(lambda: queues(settings) == live, TIMEOUT, "the dead client's queues to go", interval=0.2)
        alive.create("/after", b"the live session's queues stay")
    assert queues(settings) == []


def test_only_queues_no_session_names_and_older_than_a_registration_go(
    settings: AwsSettings, storage: DynamoDbSystemStorage, listener: SqsListener
) -> None:
    sqs = sqs_client(settings)
    register(storage, "live", listener.address)
    ended = SqsListener(settings, poll_seconds=1)
    ended.start(Inbox())
    register(storage, "ended", ended.address)
    storage.end_session("ended", time.time())  # its end is recorded: its queues wait for reap_ended_queues
    orphan, _ = create_client_queues(sqs, settings.names, "0123456789abcdef")
    half = sqs.create_queue(QueueName=settings.names.client_queue("fedcba9876543210"), Attributes={"FifoQueue": "true"})
    lone = sqs.create_queue(QueueName=answer_queue(settings.names.client_queue("00112233445566ff")))
    everything = queues(settings)
    assert len(everything) == 8
    try:
        window = queue_module.REGISTRATION_WINDOW
        channels = storage.session_channels()
        reap = queue_module.reap_orphaned_queues
        assert reap(sqs, settings.names, channels, time.time()) == 0, "a client may still be registering"
        late = time.time() + window + 60
        assert reap(sqs, settings.names, channels, late, deadline=time.time()) == 0, "no time left: next heartbeat"
        assert queues(settings) == everything
        before = METER.snapshot()
        assert reap(sqs, settings.names, channels, late) == 3
        counted = difference(METER.snapshot(), before)
        assert counted[("sqs", "ListQueues")] == 1
        assert counted[("sqs", "GetQueueAttributes")] == 3, "the age of the queues no session names, only"
        gone = {queue_name(orphan), answer_queue(queue_name(orphan)), queue_name(half["QueueUrl"])}
        gone.add(queue_name(lone["QueueUrl"]))
        assert queues(settings) == sorted(set(everything) - gone)
        ended_inbox = queue_name(ended.queue_url)
        assert queues(settings) == sorted([*own_queues(storage, "live"), ended_inbox, answer_queue(ended_inbox)])
    finally:
        ended.stop()


class PausableInbox(Inbox):
    """A client that stops handling (and answering) messages while paused, as one suspended would."""

    def __init__(self, answer: Callable[[bytes], bytes | None]) -> None:
        super().__init__(answer)
        self.running = threading.Event()
        self.running.set()

    def __call__(self, message: bytes) -> bytes | None:
        self.running.wait()
        return super().__call__(message)


@dataclass
class SilentSession:
    session: HandSession
    inbox: PausableInbox
    storage: DynamoDbSystemStorage
    settings: AwsSettings


@pytest.fixture
def silent(running: Callable[..., Config]) -> Iterator[SilentSession]:
    """A session on its own SQS listener, registered, whose client answers pings until paused."""
    # A session timeout long enough for the test to act within the grace it gives.
    config = running(session_timeout=4.0)
    settings = AwsSettings.from_config(config)
    deployment = AwsDeployment(config, settings)
    listener = SqsListener(settings, poll_seconds=1)
    inbox = PausableInbox(answer=lambda message: pong(session.id) if message == PING else None)
    listener.start(inbox)
    session = HandSession(deployment.writer_queue, listener.address, inbox)
    assert inbox.wait_reply(session.push(session.request(Op.REGISTER_SESSION)), TIMEOUT).ok
    yield SilentSession(session, inbox, deployment.system_storage, settings)
    inbox.running.set()
    listener.stop()
    deployment.close()


def notices(inbox: Inbox) -> list[str]:
    return [json.loads(m).get("kind") for m in inbox.messages if json.loads(m).get("kind") != "ping"]


def test_a_client_silent_through_its_expiry_reads_the_notice(silent: SilentSession) -> None:
    silent.inbox.running.clear()
    wait_until(lambda: session_ended(silent.storage, silent.session.id), TIMEOUT, "the session's expiry")
    silent.inbox.running.set()
    wait_until(lambda: "expired" in notices(silent.inbox), TIMEOUT, "the expired notice")
    assert len(queues(silent.settings)) == 2, "its queues were there to read it from"


def test_a_client_silent_longer_learns_its_session_expired_from_its_queues_gone(silent: SilentSession) -> None:
    silent.inbox.running.clear()
    wait_until(lambda: queues(silent.settings) == [], TIMEOUT + 10, "the silent client's queues to go", interval=0.2)
    silent.inbox.running.set()
    expired = wait_until(lambda: silent.inbox.replies(0), TIMEOUT, "the listener to tell the client")
    assert [(r.ok, r.error) for r in expired] == [(False, SessionExpiredException.code)]
    assert "expired" not in notices(silent.inbox), "the notice was lost with the queues"


# -- the cleanup itself, on the tables and queues (no functions) -----------------------------------


@pytest.fixture
def settings(stackless: Callable[..., Config]) -> AwsSettings:
    return AwsSettings.from_config(stackless(channel="sqs"))


@pytest.fixture
def storage(settings: AwsSettings) -> DynamoDbSystemStorage:
    return DynamoDbSystemStorage(settings)


@pytest.fixture
def listener(settings: AwsSettings) -> Iterator[SqsListener]:
    listener = SqsListener(settings, poll_seconds=1)
    listener.start(Inbox())
    yield listener
    listener.stop()


def register(storage: DynamoDbSystemStorage, session_id: str, channel: str) -> None:
    assert storage.create_session(SessionRecord(session_id=session_id, channel=channel, token_digest="d"))


def reap(settings: AwsSettings, storage: DynamoDbSystemStorage, deadline: float = math.inf) -> int:
    """The heartbeat's cleanup as if every session had ended long ago."""
    now = time.time() + 3600
    return reap_ended_queues(sqs_client(settings), settings.names, storage, 1.0, now, deadline=deadline)


def test_queues_a_live_session_names_are_kept(
    settings: AwsSettings, storage: DynamoDbSystemStorage, listener: SqsListener
) -> None:
    register(storage, "owner", listener.address)
    register(storage, "another", listener.address)  # e.g. forged: it names the owner's queue
    storage.end_session("another", time.time())
    assert [e.session_id for e in storage.session_channels().ended] == ["another"]
    assert [s.session_id for s in storage.list_sessions() if s.active] == ["owner"], "a record is no session"
    assert storage.read_session(ENDED_PREFIX + "another") is None

    assert reap(settings, storage) == 0
    assert len(queues(settings)) == 2, "the live session's queues stay"
    assert [e.session_id for e in storage.session_channels().ended] == ["another"], "and the record for later"

    storage.end_session("owner", time.time())
    assert reap(settings, storage, deadline=time.time()) == 0, "no time left: left for the next heartbeat"
    assert len(queues(settings)) == 2
    before = METER.snapshot()
    assert reap(settings, storage) == 2
    counted = difference(METER.snapshot(), before)
    assert counted[("sqs", "DeleteQueue")] == 4, "both queues for each record (the second finds them gone)"
    assert counted[("dynamodb", "Scan")] == 1
    assert counted[("dynamodb", "DeleteItem")] == 2, "both records forgotten"
    assert queues(settings) == []
    assert storage.session_channels().ended == []


def test_ending_sessions_are_recorded_only_with_a_queue_of_this_deployment(
    settings: AwsSettings, storage: DynamoDbSystemStorage, listener: SqsListener
) -> None:
    register(storage, "tcp", "tcp://127.0.0.1:9")
    foreign = listener.address.replace(settings.names.prefix, "faaskeeper-other")
    register(storage, "foreign", foreign)
    storage.end_session("tcp", time.time())
    storage.end_session("foreign", time.time())
    assert [e.session_id for e in storage.session_channels().ended] == ["foreign"]
    assert reap(settings, storage) == 0, "not a queue of this deployment: nothing deleted"
    assert storage.session_channels().ended == [], "and the record dropped"
    assert len(queues(settings)) == 2


def test_a_sessions_end_never_replaces_a_session_of_the_records_key(
    settings: AwsSettings, storage: DynamoDbSystemStorage, listener: SqsListener
) -> None:
    register(storage, ENDED_PREFIX + "victim", "tcp://127.0.0.1:9")
    register(storage, "victim", listener.address)
    storage.end_session("victim", time.time())
    kept = storage.read_session(ENDED_PREFIX + "victim")
    assert kept is not None
    assert kept.channel == "tcp://127.0.0.1:9"
    assert storage.session_channels().ended == []
    storage.forget_ended_session("victim")
    assert storage.read_session(ENDED_PREFIX + "victim") is not None
