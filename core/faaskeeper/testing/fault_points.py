"""Conformance at every fault point: a function dies at each step of the writer, distributor, watch
and heartbeat functions, the platform redelivers, and the deployment converges to the state one
clean run gives; every message delivered twice, and groups interleaved, changes nothing."""

from __future__ import annotations

import contextlib
import functools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Capability, Deployment
from faaskeeper.api.queue import PollingQueue, QueueMessage
from faaskeeper.api.storage import NO_NODE, Lock, SystemNode, SystemStorage, WatchKind, WatchRecord
from faaskeeper.protocol.heartbeat import HeartbeatFunction
from faaskeeper.protocol.host import PollingFunctionHost
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, FLAG_SEQUENTIAL, Op, WriteRequest
from faaskeeper.protocol.settings import FaultHook, FunctionCrash, FunctionSettings
from faaskeeper.protocol.writer import DeliveryExpired, Writer
from faaskeeper.testing.fixtures import ConformanceFixtures, requires
from faaskeeper.testing.redelivery import InterleavingQueue, TwiceQueue
from faaskeeper.testing.support import (
    FunctionRig,
    HandSession,
    Inbox,
    crash_at,
    session_drained,
    wait_until,
)

#: Every fault point of the functions, in the order a write meets them.
WRITE_FAULT_POINTS = (
    "writer.session.created",
    "writer.locked.first",
    "writer.locked",
    "writer.pushed",
    "writer.committed",
    "writer.failure.recorded",
    "writer.close.ephemerals",
    "writer.close.ended",
    "distributor.claimed",
    "distributor.applied",
    "watch.deliver",
    "watch.delivered",
    "distributor.replied",
)
HEARTBEAT_FAULT_POINTS = ("heartbeat.pinged", "heartbeat.expired")
#: Points met only where a function finishes the work of another that died.
RECOVERY_FAULT_POINTS = ("distributor.finishing",)
FAULT_POINTS = WRITE_FAULT_POINTS + HEARTBEAT_FAULT_POINTS + RECOVERY_FAULT_POINTS


@dataclass
class _Scenario:
    """Two sessions: ``actor`` writes (create, ephemeral, conditional set, sequential, a refused
    create) and closes; ``watcher`` holds an exists watch on the node the actor creates."""

    actor: HandSession
    watcher: HandSession
    seqs: list[int]
    close_seq: int = 0

    def close(self) -> None:
        self.close_seq = self.actor.push(self.actor.request(Op.DEREGISTER_SESSION))


@requires(Capability.POLLING_QUEUES)
class FaultPointSuite(ConformanceFixtures):
    """Each fault point, on its own: the function dies there and the system converges."""

    @pytest.fixture
    def fault_rig(self, function_rig: Callable[..., FunctionRig]) -> Callable[..., FunctionRig]:
        return functools.partial(function_rig, lock_max_hold=0.5)

    def _scenario(
        self, deployment: Deployment, writer_queue: PollingQueue, listen: Callable[[Inbox], ChannelListener]
    ) -> _Scenario:
        actor_inbox, watcher_inbox = Inbox(), Inbox()
        actor = HandSession(writer_queue, listen(actor_inbox).address, actor_inbox)
        watcher = HandSession(writer_queue, listen(watcher_inbox).address, watcher_inbox)
        watcher.push(watcher.request(Op.REGISTER_SESSION))
        deployment.system_storage.add_watch(WatchRecord("/f", WatchKind.EXISTS, watcher.id, NO_NODE, watcher.address))
        seqs = [
            actor.push(actor.request(Op.REGISTER_SESSION)),
            actor.push(actor.request(Op.CREATE, "/f", b"a")),
            actor.push(actor.request(Op.CREATE, "/f/e", b"", flags=FLAG_EPHEMERAL)),
            actor.push(actor.request(Op.SET_DATA, "/f", b"b", version=0)),
            actor.push(actor.request(Op.CREATE, "/f/s-", b"", flags=FLAG_SEQUENTIAL)),
            actor.push(actor.request(Op.CREATE, "/f", b"duplicate")),
        ]
        return _Scenario(actor, watcher, seqs)

    def _converged(self, deployment: Deployment, scenario: _Scenario) -> None:
        """The state, replies and notifications one clean run of the scenario gives."""
        actor = scenario.actor
        outcomes = []
        for seq in [*scenario.seqs, scenario.close_seq]:
            replies = actor.inbox.replies(seq)
            assert replies, f"request {seq} was never answered"
            assert len({(r.ok, r.error, r.path) for r in replies}) == 1, f"request {seq} answered two ways: {replies}"
            outcomes.append((replies[0].ok, replies[0].error, replies[0].path))
        assert outcomes == [
            (True, None, None),
            (True, None, "/f"),
            (True, None, "/f/e"),
            (True, None, "/f"),
            (True, None, "/f/s-0000000001"),
            (False, "NodeExists", None),
            (True, None, None),
        ]
        user, system = deployment.user_storage, deployment.system_storage
        node = user.read("/f")
        assert node is not None
        assert (node.data, node.stat.version) == (b"b", 1), "the set was applied exactly once"
        assert node.children == ["s-0000000001"], (
            f"the ephemeral node went with its session; system storage has /f {system.read_node('/f')}, "
            f"/f/e {system.read_node('/f/e')}, the session's ephemeral nodes {system.ephemeral_nodes(actor.id)}"
        )
        assert user.read("/f/e") is None
        for path in ("/", "/f", "/f/e", "/f/s-0000000001"):
            stored = system.read_node(path)
            if stored is not None:
                assert stored.lock is None, f"{path} is still locked"
                assert stored.pending == (), f"{path} still has pending transactions {stored.pending}"
        assert session_drained(system, actor.id), f"the closed session has ended: {system.read_session(actor.id)}"
        events = [m for m in scenario.watcher.inbox.messages if b'"kind": "watch"' in m]
        assert events, "the watcher was told of the create"
        assert len(set(events)) == 1, f"one notification (perhaps repeated), not several: {events}"
        assert f'"txn": {node.stat.czxid}'.encode() in events[0], "the notification names the create's transaction"

    @pytest.mark.parametrize("point", WRITE_FAULT_POINTS)
    def test_function_dying_at_each_point_converges(
        self,
        point: str,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        scenario = self._scenario(deployment, writer_queue, listen)
        scenario.close()
        with pytest.raises(FunctionCrash, match=point.replace(".", r"\.")):
            fault_rig(faults=crash_at(point)).run()
        healthy = fault_rig()
        healthy.run_until(
            lambda: scenario.actor.inbox.replies(scenario.close_seq)
            and writer_queue.depth() == 0
            and distributor_queue.depth() == 0,
            self.settle_timeout,
            f"the deployment to converge after a crash at {point}",
        )
        self._converged(deployment, scenario)

    def test_every_message_twice_and_groups_interleaved(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        scenario = self._scenario(deployment, writer_queue, listen)
        others = [HandSession(writer_queue, listen(Inbox()).address, Inbox()) for _ in range(3)]
        for other in others:
            other.push(other.request(Op.REGISTER_SESSION))
            other.push(other.request(Op.CREATE, f"/own-{other.id}", b"0"))
            for value in (b"1", b"2"):
                other.push(other.request(Op.SET_DATA, f"/own-{other.id}", value))
        writers = InterleavingQueue(TwiceQueue(writer_queue), random.Random(8))
        distributors = TwiceQueue(distributor_queue)
        rig = fault_rig(writers=writers, distributors=distributors)
        rig.run_until(
            lambda: writer_queue.depth() == 0 and distributor_queue.depth() == 0,
            self.settle_timeout,
            "every message to be delivered twice",
        )
        assert distributors.redelivered, "the distributor's messages were delivered twice"
        scenario.close()
        fault_rig().run_until(lambda: scenario.actor.inbox.replies(scenario.close_seq), self.settle_timeout, "close")
        self._converged(deployment, scenario)
        for other in others:
            stored = deployment.user_storage.read(f"/own-{other.id}")
            assert stored is not None
            assert (stored.data, stored.stat.version) == (b"2", 2), "each write once, in the session's order"

    @pytest.mark.parametrize("point", HEARTBEAT_FAULT_POINTS)
    def test_heartbeat_dying_at_each_point_still_expires(
        self,
        point: str,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        inbox = Inbox()  # answers no ping: the session is silent
        session = HandSession(writer_queue, listen(inbox).address, inbox)
        session.push(session.request(Op.REGISTER_SESSION))
        created = session.push(session.request(Op.CREATE, "/hb", b"", flags=FLAG_EPHEMERAL))
        rig = fault_rig()
        rig.run_until(lambda: inbox.replies(created), self.settle_timeout, "the ephemeral create")

        def heartbeat(faults: FaultHook | None) -> HeartbeatFunction:
            settings = FunctionSettings.from_config(
                deployment.config, faults=faults, heartbeat_interval=0.05, session_timeout=0.0
            )
            return HeartbeatFunction(deployment.system_storage, writer_queue, deployment.channel, settings)

        with pytest.raises(FunctionCrash, match=point.replace(".", r"\.")):
            heartbeat(crash_at(point)).run()
        healthy = heartbeat(None)

        def expired() -> bool:
            healthy.run()
            rig.run()
            return session_drained(deployment.system_storage, session.id)

        wait_until(expired, self.settle_timeout, f"the silent session to expire after a crash at {point}")
        rig.run_until(lambda: writer_queue.depth() == 0 and distributor_queue.depth() == 0, self.settle_timeout, "idle")
        assert deployment.user_storage.read("/hb") is None, "the expired session's ephemeral node is gone"
        stored = deployment.system_storage.read_node("/hb")
        assert stored is None or (not stored.exists and stored.lock is None)

    def test_batch_redelivered_after_close_does_not_revive_the_session(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        scenario = self._scenario(deployment, writer_queue, listen)
        scenario.close()
        rig = fault_rig(writers=TwiceQueue(writer_queue), distributors=TwiceQueue(distributor_queue))
        rig.run_until(
            lambda: writer_queue.depth() == 0 and distributor_queue.depth() == 0,
            self.settle_timeout,
            "every message to be delivered twice",
        )
        self._converged(deployment, scenario)

    @pytest.mark.parametrize("deleted", ["node", "parent"])
    def test_a_request_recorded_on_a_node_deleted_since_is_not_applied_again(
        self,
        deleted: str,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        """A writer dies after its commit; before its request is delivered again, another session
        deletes the node the request was recorded on (a set_data's node, a create's parent) and
        creates it anew. The request is still recognised as done: it is applied once."""
        mine, theirs = Inbox(), Inbox()
        actor = HandSession(writer_queue, listen(mine).address, mine)
        other = HandSession(writer_queue, listen(theirs).address, theirs)
        healthy = fault_rig()

        def run(hand: HandSession, op: Op, path: str, data: bytes = b"") -> None:
            seq = hand.push(hand.request(op, path, data))
            healthy.run_until(lambda: hand.inbox.replies(seq), self.settle_timeout, f"{op} {path}")
            assert [r.ok for r in hand.inbox.replies(seq)] == [True], hand.inbox.replies(seq)

        run(actor, Op.REGISTER_SESSION, "/")
        run(other, Op.REGISTER_SESSION, "/")
        run(other, Op.CREATE, "/p")
        run(other, Op.CREATE, "/p/x", b"first")
        if deleted == "node":
            request = actor.request(Op.SET_DATA, "/p/x", b"once")
            anew = [(Op.DELETE, "/p/x"), (Op.CREATE, "/p/x")]
        else:
            request = actor.request(Op.CREATE, "/p/c", b"once")
            anew = [(Op.DELETE, "/p/c"), (Op.DELETE, "/p/x"), (Op.DELETE, "/p"), (Op.CREATE, "/p")]
        actor.push(request)
        dead = fault_rig(faults=crash_at("writer.committed"), redelivery_delay=None)
        with pytest.raises(FunctionCrash, match=r"writer\.committed"):
            dead.run()
        healthy.run_until(lambda: mine.replies(request.seq), self.settle_timeout, "the distributor's answer")
        for op, path in anew:
            run(other, op, path, b"fresh")
        assert writer_queue.depth() == 1, "the request was delivered again before its node was replaced"
        dead.redeliver()
        healthy.run_until(
            lambda: writer_queue.depth() == 0 and distributor_queue.depth() == 0,
            self.settle_timeout,
            "the request to be delivered again",
        )
        assert {(r.ok, r.path) for r in mine.replies(request.seq)} == {(True, request.path)}
        user = deployment.user_storage
        if deleted == "node":
            node = user.read("/p/x")
            assert node is not None
            assert (node.data, node.stat.version) == (b"fresh", 0), "the set_data was applied again"
        else:
            assert user.read("/p/c") is None, "the create was applied again"
            parent = user.read("/p")
            assert parent is not None
            assert parent.children == []

    def test_a_delivery_waiting_for_locks_does_not_repeat_a_finished_request(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        inbox, other_inbox = Inbox(), Inbox()
        session = HandSession(writer_queue, listen(inbox).address, inbox)
        other = HandSession(writer_queue, listen(other_inbox).address, other_inbox)
        rig = fault_rig()
        for hand in (session, other):
            hand.push(hand.request(Op.REGISTER_SESSION))
        created = other.push(other.request(Op.CREATE, "/f", b"first"))
        rig.run_until(lambda: other_inbox.replies(created), self.settle_timeout, "the create")
        duplicate = session.push(session.request(Op.CREATE, "/f", b"second"))
        (message,) = writer_queue.receive(1, 30.0)
        # One delivery finds the locks taken by other writers and keeps trying past its visibility
        # timeout...
        first = replace(message, deadline=time.time() + 0.2)
        contended = _Contended(deployment.system_storage)
        patient = Writer(contended, distributor_queue, deployment.channel, rig.settings)  # type: ignore[arg-type]
        waiting = threading.Thread(target=_quietly, args=(patient.handle, first), daemon=True)
        waiting.start()
        # ...so the platform delivers the request again; that delivery answers it, and another
        # session deletes the node.
        time.sleep(0.2)
        rig.writer.handle(message)
        assert [r.error for r in inbox.replies(duplicate)] == ["NodeExists"]
        removed = other.push(other.request(Op.DELETE, "/f"))
        rig.run_until(lambda: other_inbox.replies(removed), self.settle_timeout, "the delete")
        contended.free.set()
        waiting.join(self.settle_timeout)
        rig.run()
        assert [r.error for r in inbox.replies(duplicate)] == ["NodeExists"], "the request was executed twice"
        assert deployment.user_storage.read("/f") is None, "the finished create was applied again"

    def test_an_ephemeral_node_committed_after_its_sessions_close_goes_before_the_close_is_answered(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        """A writer pushes an ephemeral create and dies holding its locks on the last delivery
        its platform allows, so the message is dead-lettered; the session's close runs next and
        finds no ephemeral node; then the distributor finishes the create for the dead writer.
        The node must still go with the session, before its close is answered."""
        inbox = Inbox()
        actor = HandSession(writer_queue, listen(inbox).address, inbox)
        rig = fault_rig()
        for request in (actor.request(Op.REGISTER_SESSION), actor.request(Op.CREATE, "/f")):
            seq = actor.push(request)
            rig.run_until(lambda: inbox.replies(seq), self.settle_timeout, f"request {seq}")  # noqa: B023
        create = actor.request(Op.CREATE, "/f/e", flags=FLAG_EPHEMERAL)
        _last_delivery_dies_after_push(deployment, distributor_queue, rig, create)
        close = actor.push(actor.request(Op.DEREGISTER_SESSION))
        writers_only = PollingFunctionHost(
            [(writer_queue, rig.writer_function)], visibility_timeout=rig.visibility_timeout
        )
        system = deployment.system_storage

        def ended() -> bool:
            writers_only.run_once()
            session = system.read_session(actor.id)
            return session is None or not session.active

        wait_until(ended, self.settle_timeout, "the close to end the session")
        assert system.ephemeral_nodes(actor.id) == [], "the create was not committed when the close listed"
        rig.run_until(lambda: inbox.replies(close), self.settle_timeout, "the close's answer")
        assert [r.ok for r in inbox.replies(close)] == [True]
        assert deployment.user_storage.read("/f/e") is None, (
            f"an ephemeral node outlived its session: {system.read_node('/f/e')}"
        )
        assert system.ephemeral_nodes(actor.id) == []
        assert [r.ok for r in inbox.replies(create.seq)] == [True], "the create took effect, and is answered so"
        rig.run_until(lambda: writer_queue.depth() == 0 and distributor_queue.depth() == 0, self.settle_timeout, "idle")
        parent = deployment.user_storage.read("/f")
        assert parent is not None
        assert parent.children == []

    def test_a_distributor_dying_as_it_finishes_a_dead_writers_commit_converges(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        fault_rig: Callable[..., FunctionRig],
    ) -> None:
        inbox = Inbox()
        actor = HandSession(writer_queue, listen(inbox).address, inbox)
        healthy = fault_rig()
        registered = actor.push(actor.request(Op.REGISTER_SESSION))
        healthy.run_until(lambda: inbox.replies(registered), self.settle_timeout, "the registration")
        create = actor.request(Op.CREATE, "/once", b"v")
        _last_delivery_dies_after_push(deployment, distributor_queue, healthy, create)
        with pytest.raises(FunctionCrash, match=r"distributor\.finishing"):
            fault_rig(faults=crash_at("distributor.finishing")).run()
        healthy.run_until(lambda: inbox.replies(create.seq), self.settle_timeout, "the create, finished")
        assert [(r.ok, r.path) for r in inbox.replies(create.seq)] == [(True, "/once")]
        node = deployment.user_storage.read("/once")
        assert node is not None
        assert (node.data, node.stat.version) == (b"v", 0)
        stored = deployment.system_storage.read_node("/once")
        assert stored is not None
        assert (stored.lock, stored.pending) == (None, ())


def _last_delivery_dies_after_push(
    deployment: Deployment, distributor_queue: PollingQueue, rig: FunctionRig, request: WriteRequest
) -> None:
    """Hand ``request`` to a writer that dies after pushing it, holding its locks, on the last
    delivery its platform allows: the message is never delivered again (dead-lettered)."""
    dying = Writer(
        deployment.system_storage,
        distributor_queue,
        deployment.channel,
        replace(rig.settings, faults=crash_at("writer.pushed")),
    )
    last = QueueMessage(request.encode(), 1, request.session_id, "last-delivery", 5, deadline=time.time() + 60)
    with pytest.raises(FunctionCrash, match=r"writer\.pushed"):
        dying.handle(last)


class _Contended:
    """System storage whose locks are all held by others until ``free`` is set."""

    def __init__(self, inner: SystemStorage) -> None:
        self._inner = inner
        self.free = threading.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        if not self.free.is_set():
            return None
        return self._inner.lock_node(path, lock, max_hold)


def _quietly(handle: Callable[[QueueMessage], None], message: QueueMessage) -> None:
    """Run ``handle`` as a function host would, where a delivery past its deadline just fails."""
    with contextlib.suppress(DeliveryExpired):
        handle(message)
