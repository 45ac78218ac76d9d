"""Functions dying mid-write and duplicate deliveries, through the function host polling Azurite's
Storage Queues: an instance that dies leaves its message hidden until its visibility timeout
ends, the queue delivers it again, and the protocol finishes the write exactly once."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import faaskeeper_azure.functions.handlers as handlers
from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.queue import QueueMessage
from faaskeeper.check.checker import check
from faaskeeper.check.workload import record_sessions
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, Op
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper.protocol.writer import Writer
from faaskeeper.testing.fault_points import WRITE_FAULT_POINTS, FaultPointSuite
from faaskeeper.testing.support import HandSession, Inbox, crash_at, wait_until
from faaskeeper.testing.transaction_faults import LOCK_MAX_HOLD, TransactionFaultSuite
from faaskeeper_azure.deployment import AzureDeployment
from faaskeeper_azure.emulator.servers import Emulators
from faaskeeper_azure.functions.functions import function_settings
from faaskeeper_azure.functions.host import FunctionHost
from faaskeeper_azure.queues import SessionTurns

#: Seconds a message stays hidden from other pollers while its function runs (a dead instance's
#: message is delivered again after it).
VISIBILITY = 2

#: The points where a function died, in order.
crashed: list[str] = []


@pytest.fixture
def deployed(azure_emulators: Emulators) -> Iterator[Callable[..., Config]]:
    """``deployed(**top_level_keys)``: a fresh deployment (removed after the test); its config."""
    provider = get_provider("azure")
    made: list[Config] = []

    def deploy(**options: Any) -> Config:
        lock = {"lock-max-hold": options.pop("lock-max-hold")} if "lock-max-hold" in options else {}
        config = Config.deserialize(
            {
                "cloud-provider": "azure",
                "deployment-name": f"f{uuid.uuid4().hex[:10]}",
                "heartbeat-frequency": 0.5,
                "session-timeout": 10.0,
                **options,
                "azure": {**azure_emulators.config_section(), **lock},
            }
        )
        made.append(provider.deploy(config, clean=True))
        return made[-1]

    yield deploy
    for config in made:
        provider.remove(config)


@pytest.fixture
def serve() -> Iterator[Callable[..., FunctionHost]]:
    started: list[FunctionHost] = []

    def start(config: Config, **options: Any) -> FunctionHost:
        host = FunctionHost(config, visibility=VISIBILITY, **options)
        host.start()
        started.append(host)
        return host

    yield start
    for host in started:
        host.stop()


@pytest.fixture
def running(deployed: Callable[..., Config], serve: Callable[..., FunctionHost]) -> Iterator[Callable[..., Config]]:
    """``running(*crash_points, lock_max_hold=1)``: a deployment whose functions die the first
    time they reach each point."""
    crashed.clear()

    def start(*points: str, lock_max_hold: float = 1) -> Config:
        config = deployed(**{"lock-max-hold": lock_max_hold})
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
def opened() -> Iterator[Callable[[Config], AzureDeployment]]:
    deployments: list[AzureDeployment] = []

    def open_(config: Config) -> AzureDeployment:
        deployment = get_provider("azure").open(config)
        assert isinstance(deployment, AzureDeployment)
        deployments.append(deployment)
        return deployment

    yield open_
    for deployment in deployments:
        deployment.close()


def test_writer_dying_after_push_is_finished_by_the_distributor(
    running: Callable[..., Config], opened: Callable[[Config], AzureDeployment]
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
    # before the close (the session's order), was recognised as done and not pushed again.
    # (The cursor advances just after the reply is sent.)
    wait_until(lambda: deployment.distributor_queue.positions() == (2, 2), 10, "two events, both applied")


def test_distributor_dying_before_reply_is_redelivered(
    running: Callable[..., Config], opened: Callable[[Config], AzureDeployment]
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
    running: Callable[..., Config], opened: Callable[[Config], AzureDeployment]
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
    deployed: Callable[..., Config], serve: Callable[..., FunctionHost], opened: Callable[[Config], AzureDeployment]
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
            # Its message went to the poison queue, and the session goes on past it.
            SessionTurns(deployment.system_storage).finished(session.id, create.seq)
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


SESSIONS = 3
CALLS = 20
#: Chance that a function dies at each fault point it passes.
FAILURE = 0.03


@pytest.fixture
def dying() -> Iterator[Counter[str]]:
    """Functions that die at random fault points; the points where they died."""
    rng, guard, died = random.Random(8), threading.Lock(), Counter[str]()

    def hook(point: str) -> None:
        with guard:
            draw = rng.random()
            if draw < FAILURE:
                died[point] += 1
        if draw < FAILURE:
            raise FunctionCrash(point)

    handlers.faults = hook
    yield died
    handlers.faults = None


def test_random_sessions_with_dying_functions_keep_the_guarantees(
    deployed: Callable[..., Config], serve: Callable[..., FunctionHost], dying: Counter[str]
) -> None:
    """A short history run: sessions make random calls while the functions die at random fault
    points (an instance that dies leaves its message to be delivered again after its visibility
    timeout); the history is checked for ZooKeeper's guarantees."""
    config = deployed(**{"lock-max-hold": 1})
    serve(config, schedule=False)
    history = record_sessions(config, SESSIONS, CALLS)
    report = check(history)
    print(f"Azure history: {report.operations} operations, {report.sessions} sessions, deaths {dict(dying)}")
    assert report.operations >= SESSIONS * CALLS, "every session made its calls (a burst makes several)"
    assert sum(dying.values()) > 0, "no function died: the run tested nothing under faults"
    assert report.violations == [], report.violations[:5]


@pytest.mark.parametrize("point", WRITE_FAULT_POINTS)
def test_a_function_dying_at_each_point_converges_through_the_host(
    point: str, running: Callable[..., Config], opened: Callable[[Config], AzureDeployment]
) -> None:
    """The fault-point suite's scenario (two sessions: one writes and closes, the other watches),
    sent through the Storage Queues to the function host, whose functions die the first time they
    reach ``point``: the messages are delivered again, and the state, answers and notifications
    are those of a clean run."""
    config = running(point)
    deployment = opened(config)
    listeners: list[ChannelListener] = []

    def listen(inbox: Inbox) -> ChannelListener:
        listener = deployment.listener()
        listener.start(inbox)
        listeners.append(listener)
        return listener

    suite = FaultPointSuite()
    try:
        scenario = suite._scenario(deployment, deployment.writer_queue, listen)  # type: ignore[arg-type]
        scenario.close()
        wait_until(lambda: scenario.actor.inbox.replies(scenario.close_seq), 60, f"the close after a crash at {point}")
        wait_until(
            lambda: deployment.distributor_queue.positions()[0] == deployment.distributor_queue.positions()[1],
            30,
            "the distributor's log to be drained",
        )
        suite._converged(deployment, scenario)
    finally:
        for listener in listeners:
            listener.stop()
    assert crashed == [point], f"the functions died at {crashed}"


@pytest.mark.parametrize("point", WRITE_FAULT_POINTS)
def test_a_transaction_of_50_operations_is_all_or_nothing_at_each_point_through_the_host(
    point: str, running: Callable[..., Config], opened: Callable[[Config], AzureDeployment]
) -> None:
    """The transaction fault suite's scenario (a 50-op transaction, a refused one and the close,
    with a watcher) through the Storage Queues and the function host, its functions dying the
    first time they reach ``point``: applied once, whole."""
    config = running(point, lock_max_hold=LOCK_MAX_HOLD)
    deployment = opened(config)
    listeners: list[ChannelListener] = []

    def listen(inbox: Inbox) -> ChannelListener:
        listener = deployment.listener()
        listener.start(inbox)
        listeners.append(listener)
        return listener

    suite = TransactionFaultSuite()
    try:
        scenario = suite._txn_scenario(deployment, deployment.writer_queue, listen)  # type: ignore[arg-type]
        wait_until(lambda: scenario.actor.inbox.replies(scenario.close), 90, f"the close after a crash at {point}")
        wait_until(
            lambda: deployment.distributor_queue.positions()[0] == deployment.distributor_queue.positions()[1],
            30,
            "the distributor's log to be drained",
        )
        suite._txn_converged(deployment, scenario)
    finally:
        for listener in listeners:
            listener.stop()
    assert crashed == [point], f"the functions died at {crashed}"
