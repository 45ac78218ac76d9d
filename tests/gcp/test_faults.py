"""Functions dying mid-write and duplicate deliveries, through real Pub/Sub push delivery: an
instance that dies answers 500 (as Cloud Functions does), Pub/Sub redelivers, and the protocol
finishes the write exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

import faaskeeper_gcp.functions.handlers as handlers
from faaskeeper.api.queue import QueueMessage
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, Op
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper.protocol.writer import Writer
from faaskeeper.testing.support import HandSession, Inbox, crash_at, wait_until
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.functions.functions import function_settings
from faaskeeper_gcp.functions.host import FunctionServer

#: The points where a function died, in order.
crashed: list[str] = []


@pytest.fixture
def running(deployed: Callable[..., Config], serve: Callable[..., FunctionServer]) -> Iterator[Callable[..., Config]]:
    """``running(*crash_points)``: a deployment whose functions die the first time they reach each point."""
    crashed.clear()

    def start(*points: str) -> Config:
        config = deployed(**{"lock-max-hold": 1})
        crash = crash_at(*points)

        def hook(point: str) -> None:
            try:
                crash(point)
            except FunctionCrash:
                crashed.append(point)
                raise

        handlers.faults = hook
        serve(config, schedule=False)
        return config

    yield start
    handlers.faults = None


@pytest.fixture
def opened() -> Iterator[Callable[[Config], GcpDeployment]]:
    deployments: list[GcpDeployment] = []

    def open_(config: Config) -> GcpDeployment:
        deployment = get_provider("gcp").open(config)
        assert isinstance(deployment, GcpDeployment)
        deployments.append(deployment)
        return deployment

    yield open_
    for deployment in deployments:
        deployment.close()


def test_writer_dying_after_push_is_finished_by_the_distributor(
    running: Callable[..., Config], opened: Callable[[Config], GcpDeployment]
) -> None:
    config = running("writer.pushed")
    deployment = opened(config)
    with FaaSKeeperClient(config, timeout=30) as client:
        node = client.create("/crash", b"data")
        assert node.path == "/crash"
        stored = client.get_data("/crash")
        assert stored.data == b"data"
        assert [c.path for c in client.get_children("/")] == ["/crash"]
    assert crashed == ["writer.pushed"]
    system = deployment.system_storage.read_node("/crash")
    assert system is not None
    assert (system.exists, system.lock, system.pending) == (True, None, ())
    # Two events, the create and the session's close: the dead writer's request, delivered again
    # before the close (one ordering key per session), was recognised as done and not pushed again.
    # (The cursor advances just after the reply is sent.)
    wait_until(lambda: deployment.distributor_queue.positions() == (2, 2), 10, "two events, both applied")


def test_distributor_dying_before_reply_is_redelivered(
    running: Callable[..., Config], opened: Callable[[Config], GcpDeployment]
) -> None:
    config = running("distributor.applied")
    deployment = opened(config)
    with FaaSKeeperClient(config, timeout=30) as client:
        client.create("/applied", b"v")
        stored = client.get_data("/applied")
        assert (stored.data, stored.stat.version) == (b"v", 0)
    assert crashed == ["distributor.applied"]
    node = deployment.system_storage.read_node("/applied")
    assert node is not None
    assert node.pending == ()
    wait_until(lambda: deployment.distributor_queue.positions() == (2, 2), 10, "the create and the session's close")


def test_duplicate_delivery_is_applied_once(
    running: Callable[..., Config], opened: Callable[[Config], GcpDeployment]
) -> None:
    deployment = opened(running())
    inbox = Inbox()
    listener = deployment.listener()
    listener.start(inbox)
    try:
        session = HandSession(deployment.writer_queue, listener.address, inbox)
        assert inbox.wait_reply(session.push(session.request(Op.REGISTER_SESSION)), 20).ok
        session.push(session.request(Op.CREATE, "/once", b"0"))
        update = session.request(Op.SET_DATA, "/once", b"1")
        session.push(update, dedup="first delivery")
        session.push(update, dedup="second delivery")
        refused = session.request(Op.SET_DATA, "/once", b"2", version=7)
        session.push(refused, dedup="first delivery of the refused")
        session.push(refused, dedup="second delivery of the refused")
        # A refusal is answered by the writer, a success by the distributor once applied: wait for both.
        assert inbox.wait_reply(update.seq, 20).ok
        wait_until(lambda: len(inbox.replies(refused.seq)) == 2, 20, "both answers to the refused request")
        stored = deployment.user_storage.read("/once")
        assert stored is not None
        assert (stored.data, stored.stat.version) == (b"1", 1)
        assert [r.ok for r in inbox.replies(update.seq)] == [True]
        assert all(r.error == "BadVersion" for r in inbox.replies(refused.seq))
        wait_until(lambda: deployment.distributor_queue.positions() == (2, 2), 10, "the create and one set_data")
    finally:
        listener.stop()


def test_an_ephemeral_node_committed_after_its_sessions_close_goes_before_the_close_is_answered(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer], opened: Callable[[Config], GcpDeployment]
) -> None:
    """A writer pushes an ephemeral create and dies holding its locks, its message never
    delivered again (dead-lettered); the session's close finds no ephemeral node; then the
    distributor finishes the create for the dead writer. The node still goes with the session,
    through a sweep the distributor sends back to the writer, before the close is answered."""
    config = deployed(**{"lock-max-hold": 1})
    finishing, release = threading.Event(), threading.Event()

    def hold_the_distributor(point: str) -> None:
        if point == "distributor.finishing":
            finishing.set()
            release.wait(60)

    handlers.faults = hold_the_distributor
    try:
        serve(config, schedule=False)
        deployment = opened(config)
        inbox = Inbox()
        listener = deployment.listener()
        listener.start(inbox)
        try:
            session = HandSession(deployment.writer_queue, listener.address, inbox)
            for request in (session.request(Op.REGISTER_SESSION), session.request(Op.CREATE, "/f")):
                assert inbox.wait_reply(session.push(request), 20).ok
            create = session.request(Op.CREATE, "/f/e", flags=FLAG_EPHEMERAL)
            settings = function_settings(config, deployment.settings, crash_at("writer.pushed"))
            dying = Writer(deployment.system_storage, deployment.distributor_queue, deployment.channel, settings)
            last_delivery = QueueMessage(create.encode(), 1, session.id, "last-delivery", 5, deadline=time.time() + 60)
            with pytest.raises(FunctionCrash, match=r"writer\.pushed"):
                dying.handle(last_delivery)
            wait_until(finishing.is_set, 20, "the distributor to find the dead writer's lock")
            close = session.push(session.request(Op.DEREGISTER_SESSION))
            system = deployment.system_storage

            def ended() -> bool:
                record = system.read_session(session.id)
                return record is None or not record.active

            wait_until(ended, 20, "the close to end the session")
            assert system.ephemeral_nodes(session.id) == [], "the create was not committed when the close listed"
            release.set()
            assert inbox.wait_reply(close, 30).ok
            assert deployment.user_storage.read("/f/e") is None, "an ephemeral node outlived its session"
            assert system.ephemeral_nodes(session.id) == []
            assert [r.ok for r in inbox.replies(create.seq)] == [True], "the create took effect, and is answered so"
            parent = deployment.user_storage.read("/f")
            assert parent is not None
            assert parent.children == []
        finally:
            release.set()
            listener.stop()
    finally:
        handlers.faults = None


#: The fault points a client's transaction meets, with a watch on a node it creates.
TRANSACTION_FAULT_POINTS = (
    "writer.locked.first",
    "writer.locked",
    "writer.pushed",
    "writer.committed",
    "distributor.claimed",
    "distributor.applied",
    "watch.deliver",
    "watch.delivered",
    "distributor.replied",
)


@pytest.mark.parametrize("point", TRANSACTION_FAULT_POINTS)
def test_a_transaction_of_50_operations_is_applied_once_whole_when_a_function_dies(
    point: str, running: Callable[..., Config], opened: Callable[[Config], GcpDeployment]
) -> None:
    config = running(point)
    deployment = opened(config)
    names = [f"/big/n{i:02d}" for i in range(45)]
    with FaaSKeeperClient(config, timeout=60) as client, FaaSKeeperClient(config, timeout=60) as watcher:
        events: list[object] = []
        watcher.exists("/big/n00", watch=events.append)
        txn = client.transaction().create("/big", b"0")
        for name in names:
            txn.create(name, name.encode())
        txn.create("/big/e", ephemeral=True).create("/big/s-", sequential=True)
        txn.set_data("/big", b"set", version=0).check("/big", 1)
        assert len(txn.operations) == 50
        results = txn.commit()
        assert results[1:46] == names
        assert results[47] == "/big/s-0000000046"
        big = client.get_data("/big")
        assert (big.data, big.stat.version, big.stat.num_children) == (b"set", 1, 47), "applied once"
        for name in names:
            assert client.get_data(name).stat.czxid == big.stat.czxid, "one transaction id"
        wait_until(lambda: events, 20, "the watcher's notification")
    assert crashed == [point]
    for path in ["/big", *names]:
        node = deployment.system_storage.read_node(path)
        assert node is not None
        assert (node.lock, node.pending) == (None, ())
