"""Session leases: a write's first delivery with a valid lease needs no session read; anything
else (no lease, a forged, ended or foreign one, a redelivery) reads the session as before; an
expiry waits for the session's leases to end, and is dropped if the session answers again."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.provider import Deployment
from faaskeeper.api.queue import QueueMessage
from faaskeeper.api.storage import SessionRecord, SessionStatus
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol import leases
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.heartbeat import HeartbeatFunction
from faaskeeper.protocol.messages import Op, WriteRequest, expiry_proof, token_digest
from faaskeeper.protocol.sessions import LeasesOutstanding
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.writer import Writer

from .conftest import local_config

KEY = b"k" * leases.KEY_BYTES
NOW = 1_000_000.0
CHANNEL = "127.0.0.1:1"
TOKEN = "secret-token"
_sequence = itertools.count(1)


class CountingSessions:
    """System storage that counts the session reads the writer makes."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.reads = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def read_session(self, session_id: str) -> SessionRecord | None:
        self.reads += 1
        return self._inner.read_session(session_id)


class Silent(ChannelSender):
    """A client channel that answers no ping and records what it was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def send(self, address: str, message: bytes) -> None:
        self.sent.append((address, message))

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        self.sent.append((address, message))
        return None


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    provider = get_provider("local")
    config: Config = provider.deploy(local_config(tmp_path))
    opened = provider.open(config)
    yield opened
    opened.close()


def settings(**changes: Any) -> FunctionSettings:
    values: dict[str, Any] = {"lease_key": KEY, "session_timeout": 3.0, "clock_drift": 0.5, "clock": lambda: NOW}
    values.update(changes)
    return FunctionSettings(**values)


def register(deployment: Deployment, session_id: str = "s1", **record: Any) -> SessionRecord:
    session = SessionRecord(session_id, CHANNEL, token_digest(TOKEN), **record)
    assert deployment.system_storage.create_session(session)
    return session


def lease_for(session: SessionRecord, until: float = NOW + 2, key: bytes = KEY) -> leases.Lease:
    return leases.sign(key, session.session_id, session.token_digest, session.channel, until)


def delivery(request: WriteRequest, receive_count: int = 1) -> QueueMessage:
    number = next(_sequence)
    return QueueMessage(request.encode(), number, request.session_id, f"m{number}", receive_count)


def create(session_id: str, path: str, lease: leases.Lease | None, **changes: Any) -> WriteRequest:
    request = WriteRequest(Op.CREATE, session_id, TOKEN, 1, path=path, data=b"x", reply_to=CHANNEL, lease=lease)
    return replace(request, **changes)


def test_a_lease_holds_for_its_session_token_channel_and_time_only() -> None:
    lease = leases.sign(KEY, "s1", "digest", "chan", NOW + 5)
    assert leases.holds(KEY, lease, "s1", "digest", "chan", NOW)
    assert not leases.holds(KEY, lease, "s1", "digest", "chan", NOW + 5), "it has ended"
    assert not leases.holds(b"other" * 7, lease, "s1", "digest", "chan", NOW), "signed with another key"
    assert not leases.holds(KEY, lease, "s2", "digest", "chan", NOW), "another session"
    assert not leases.holds(KEY, lease, "s1", "other", "chan", NOW), "another token"
    assert not leases.holds(KEY, lease, "s1", "digest", "elsewhere", NOW), "another channel"
    stretched = leases.Lease(NOW + 50, lease.signature)
    assert not leases.holds(KEY, stretched, "s1", "digest", "chan", NOW + 10), "its end moved"


@pytest.mark.parametrize("wire", [None, [], [1.0], ["1", "sig"], [True, "sig"], [1.0, 2], [1.0, "x" * 200], {"a": 1}])
def test_a_malformed_lease_is_refused(wire: Any) -> None:
    with pytest.raises(MalformedMessage, match="lease"):
        leases.Lease.from_wire(wire)
    body = create("s1", "/a", None).encode()
    forged = body.replace(b'"flags":0', b'"flags":0,"lease":' + repr(wire).replace("'", '"').encode())
    if forged != body and wire is not None:
        with pytest.raises(MalformedMessage):
            WriteRequest.decode(forged, 1024)


def test_a_lease_travels_with_a_write() -> None:
    lease = leases.sign(KEY, "s1", "d", CHANNEL, NOW + 1.5)
    decoded = WriteRequest.decode(create("s1", "/a", lease).encode(), 1024)
    assert decoded.lease == lease


def test_the_first_delivery_of_a_leased_write_reads_no_session(deployment: Deployment) -> None:
    session = register(deployment)
    system = CountingSessions(deployment.system_storage)
    writer = Writer(system, deployment.distributor_queue, Silent(), settings())  # type: ignore[arg-type]
    writer.handle(delivery(create("s1", "/leased", lease_for(session))))
    assert system.reads == 0
    node = deployment.system_storage.read_node("/leased")
    assert node is not None
    assert node.exists, "the create committed"
    assert node.pending


@pytest.mark.parametrize(
    ("case", "lease", "changes", "receive_count"),
    [
        ("redelivered", "valid", {}, 2),
        ("unknown delivery count", "valid", {}, 0),
        ("no lease", None, {}, 1),
        ("ended", "ended", {}, 1),
        ("another key", "forged", {}, 1),
        ("another channel", "valid", {"reply_to": "127.0.0.1:2"}, 1),
    ],
)
def test_other_writes_read_the_session(
    deployment: Deployment, case: str, lease: str | None, changes: dict[str, Any], receive_count: int
) -> None:
    session = register(deployment)
    leased = {
        "valid": lease_for(session),
        "ended": lease_for(session, until=NOW - 0.001),
        "forged": lease_for(session, key=b"f" * leases.KEY_BYTES),
        None: None,
    }[lease]
    system = CountingSessions(deployment.system_storage)
    writer = Writer(system, deployment.distributor_queue, Silent(), settings())  # type: ignore[arg-type]
    writer.handle(delivery(create("s1", f"/{case.replace(' ', '-')}", leased, **changes), receive_count))
    assert system.reads == 1, case
    node = deployment.system_storage.read_node(f"/{case.replace(' ', '-')}")
    assert node is not None
    assert node.exists, f"{case}: the write is still done, after the read"


def test_a_lease_does_not_stand_for_another_sessions_token(deployment: Deployment) -> None:
    victim = register(deployment, "victim")
    lease = lease_for(victim)
    writer = Writer(deployment.system_storage, deployment.distributor_queue, Silent(), settings())
    forged = create("victim", "/stolen", lease, token="guessed")
    with pytest.raises(MalformedMessage, match="wrong token"):
        writer.handle(delivery(forged))
    assert deployment.system_storage.read_node("/stolen") is None


def test_the_heartbeat_leases_only_sessions_that_answered(deployment: Deployment) -> None:
    answering = register(deployment, "answering")
    register(deployment, "silent", silent_since=NOW - 1)
    channel = Silent()
    heartbeat = HeartbeatFunction(deployment.system_storage, deployment.writer_queue, channel, settings())
    heartbeat.run()
    sent = [message for _, message in channel.sent]
    assert len(sent) == 2, "both sessions are pinged"
    with_lease = [m for m in sent if b"lease" in m]
    assert len(with_lease) == 1, sent
    until = settings().lease_duration + NOW
    assert leases.sign(KEY, "answering", answering.token_digest, CHANNEL, until).signature.encode() in with_lease[0]


def test_leases_end_before_their_session_can_expire() -> None:
    timing = settings(session_timeout=3.0, heartbeat_interval=1.0, clock_drift=0.5, delivery_margin=0.05)
    assert timing.silence_allowed == 2.0, "the timeout counts from the ping answered a heartbeat before"
    # A lease issued with the first unanswered ping, on a clock running clock_drift fast, ends
    # before the expiry is due on one running clock_drift slow.
    issued = 100.0
    assert issued + timing.lease_duration + timing.clock_drift < timing.expiry_due(issued) - timing.clock_drift
    assert timing.lease_duration > 0
    assert settings(lease_key=None).lease_duration == 0, "no key, no leases"
    assert settings(session_timeout=0.5, clock_drift=0.5).lease_duration == 0


def expire(deployment: Deployment, session: SessionRecord, now: float) -> None:
    request = WriteRequest(
        Op.EXPIRE_SESSION, session.session_id, expiry_proof(session.token_digest, session.session_id), 0
    )
    writer = Writer(deployment.system_storage, deployment.distributor_queue, Silent(), settings(clock=lambda: now))
    writer.handle(delivery(request))


def test_an_expiry_waits_until_it_is_due(deployment: Deployment) -> None:
    session = register(deployment, silent_since=NOW - 3.0)
    ended = settings().expiry_due(session.silent_since)
    assert ended >= settings().leases_end(session.silent_since), "every lease of the session has run out"
    assert ended == session.silent_since + settings().silence_allowed
    with pytest.raises(LeasesOutstanding) as held:
        expire(deployment, session, ended - 0.01)
    assert held.value.delay == pytest.approx(0.01), "delivered again when the leases have run out"
    still = deployment.system_storage.read_session(session.session_id)
    assert still is not None
    assert still.active
    expire(deployment, session, ended + 0.01)
    over = deployment.system_storage.read_session(session.session_id)
    assert over is not None
    assert (over.status, over.ended_at) == (SessionStatus.ENDING, session.silent_since), (
        "ended as of its silence; the record waits for the distributor to pass its end"
    )


def test_an_expiry_of_a_session_that_answers_again_is_dropped(deployment: Deployment) -> None:
    session = register(deployment, silent_since=0.0)
    expire(deployment, session, NOW)
    assert deployment.system_storage.read_session(session.session_id) is not None


class Expiries:
    """A writer queue that records the groups of the requests sent to it."""

    def __init__(self) -> None:
        self.groups: list[str] = []

    def send(self, body: bytes, group: str, dedup: str) -> None:
        self.groups.append(group)


def test_the_heartbeat_counts_the_timeout_from_the_ping_answered_last(deployment: Deployment) -> None:
    # Session timeout 3 s, a heartbeat a second: a session that fell silent at the run of NOW - s
    # answered last one interval before that, so it expires 2 s after it fell silent. The expiry
    # goes out half an interval early (so that a run's own pings do not delay it by a whole
    # run); the writer holds it until it is due.
    timing = settings(heartbeat_interval=1.0)
    register(deployment, "due", silent_since=NOW - 2.0)
    register(deployment, "almost", silent_since=NOW - 1.5)
    register(deployment, "recent", silent_since=NOW - 1.4)
    queue = Expiries()
    report = HeartbeatFunction(deployment.system_storage, queue, Silent(), timing).run()  # type: ignore[arg-type]
    assert sorted(queue.groups) == ["almost", "due"]
    assert sorted(report.expired) == ["almost", "due"]
    assert report.silent == ["recent"]
    almost = deployment.system_storage.read_session("almost")
    assert almost is not None
    with pytest.raises(LeasesOutstanding) as held:
        expire(deployment, almost, NOW)
    assert held.value.delay == pytest.approx(0.5)
