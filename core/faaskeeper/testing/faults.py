"""Conformance under failure: functions that die mid-write, messages delivered twice, and forged or
malformed messages. The core's writer and distributor run by hand over the provider's parts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Capability, Deployment
from faaskeeper.api.queue import PollingQueue
from faaskeeper.api.storage import NodeState, NodeUpdate
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.node import Node, Stat
from faaskeeper.protocol import codec
from faaskeeper.protocol.messages import FLAG_SEQUENTIAL, DistributorEvent, EventKind, Op, OpResult, WriteRequest
from faaskeeper.protocol.settings import FaultHook, FunctionCrash
from faaskeeper.protocol.writer import DISTRIBUTOR_GROUP, DeliveryExpired
from faaskeeper.testing.fixtures import ConformanceFixtures, requires
from faaskeeper.testing.support import FunctionRig, HandSession, Inbox, RecordingQueue, crash_at, wait_until
from faaskeeper.testing.watches import Events
from faaskeeper.watch import WatchEventType


@requires(Capability.POLLING_QUEUES)
class FaultSuite(ConformanceFixtures):
    """Every step of a write may die or repeat; the outcome is still exactly-once, and nothing
    forged or malformed is ever applied."""

    @pytest.fixture
    def rig(
        self, deployment: Deployment, writer_queue: PollingQueue, distributor_queue: PollingQueue
    ) -> Callable[..., FunctionRig]:
        """``rig(faults=..., lock_max_hold=...)``: the functions over this deployment, run by hand."""

        def make(faults: FaultHook | None = None, lock_max_hold: float = 0.5) -> FunctionRig:
            return FunctionRig(deployment, writer_queue, distributor_queue, faults=faults, lock_max_hold=lock_max_hold)

        return make

    @pytest.fixture
    def session(
        self,
        writer_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        rig: Callable[..., FunctionRig],
    ) -> HandSession:
        inbox = Inbox()
        session = HandSession(writer_queue, listen(inbox).address, inbox)
        seq = session.push(session.request(Op.REGISTER_SESSION))
        rig().run()
        assert inbox.wait_reply(seq, self.settle_timeout).ok
        return session

    def test_writer_dying_after_push_is_finished_by_the_distributor(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        session: HandSession,
        rig: Callable[..., FunctionRig],
    ) -> None:
        seq = session.push(session.request(Op.CREATE, "/crash", b"data"))
        with pytest.raises(FunctionCrash):
            rig(faults=crash_at("writer.pushed")).run()
        system, user = deployment.system_storage, deployment.user_storage
        node = system.read_node("/crash")
        assert node is not None
        assert node.lock is not None, "the dead writer still holds its lock"
        assert not node.exists
        assert node.pending == ()
        assert user.read("/crash") is None
        assert distributor_queue.depth() == 1
        healthy = rig()
        healthy.run()
        reply = session.inbox.wait_reply(seq, self.settle_timeout)
        assert reply.ok
        assert reply.path == "/crash"
        stored = user.read("/crash")
        assert stored is not None
        assert stored.data == b"data"
        node = system.read_node("/crash")
        assert node is not None
        assert node.exists
        assert node.lock is None
        assert node.pending == ()
        root = user.read("/")
        assert root is not None
        assert root.children == ["crash"]
        # The dead writer's message is delivered again; the request is recognised as done.
        healthy.run_until(lambda: writer_queue.depth() == 0, self.settle_timeout, "the redelivery")
        assert distributor_queue.depth() == 0, "a finished request is not pushed again"
        assert len(session.inbox.replies(seq)) == 1
        again = user.read("/crash")
        assert again is not None
        assert again.stat == stored.stat

    def test_lock_of_a_dead_writer_expires(
        self,
        deployment: Deployment,
        distributor_queue: PollingQueue,
        session: HandSession,
        rig: Callable[..., FunctionRig],
    ) -> None:
        seq = session.push(session.request(Op.CREATE, "/stuck", b"x"))
        with pytest.raises(FunctionCrash):
            rig(faults=crash_at("writer.locked")).run()
        root = deployment.system_storage.read_node("/")
        assert root is not None
        assert root.lock is not None
        assert distributor_queue.depth() == 0
        healthy = rig(lock_max_hold=0.3)
        replies = healthy.run_until(lambda: session.inbox.replies(seq), self.settle_timeout, "the retried write")
        assert [r.ok for r in replies] == [True]
        stored = deployment.user_storage.read("/stuck")
        assert stored is not None
        assert stored.data == b"x"
        for path in ("/", "/stuck"):
            node = deployment.system_storage.read_node(path)
            assert node is not None
            assert node.lock is None, f"{path} left locked"

    def test_distributor_dying_before_reply_is_redelivered(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        session: HandSession,
        rig: Callable[..., FunctionRig],
    ) -> None:
        seq = session.push(session.request(Op.CREATE, "/applied", b"v"))
        with pytest.raises(FunctionCrash):
            rig(faults=crash_at("distributor.applied")).run()
        node = deployment.system_storage.read_node("/applied")
        assert node is not None
        assert node.pending == ()
        assert node.claimed > 0, "the distributor claims the transaction before it applies it"
        assert session.inbox.replies(seq) == []
        healthy = rig()
        replies = healthy.run_until(lambda: session.inbox.replies(seq), self.settle_timeout, "the redelivered event")
        assert [r.ok for r in replies] == [True]
        stored = deployment.user_storage.read("/applied")
        assert stored is not None
        assert (stored.data, stored.stat.version) == (b"v", 0)
        node = deployment.system_storage.read_node("/applied")
        assert node is not None
        assert node.pending == ()
        assert writer_queue.depth() == 0
        assert distributor_queue.depth() == 0

    def test_duplicate_delivery_is_applied_once(
        self, deployment: Deployment, session: HandSession, rig: Callable[..., FunctionRig]
    ) -> None:
        session.push(session.request(Op.CREATE, "/once", b"0"))
        update = session.request(Op.SET_DATA, "/once", b"1")
        session.push(update, dedup="first delivery")
        session.push(update, dedup="second delivery")
        refused = session.request(Op.SET_DATA, "/once", b"2", version=7)
        session.push(refused, dedup="first delivery of the refused")
        session.push(refused, dedup="second delivery of the refused")
        rig().run()
        stored = deployment.user_storage.read("/once")
        assert stored is not None
        assert (stored.data, stored.stat.version) == (b"1", 1)
        assert [r.ok for r in session.inbox.replies(update.seq)] == [True]
        refusals = session.inbox.replies(refused.seq)
        assert refusals, "a refused request is answered"
        assert all(r.error == "BadVersion" for r in refusals), "a repeated request gets the same answer"

    def test_redelivery_after_another_session_wrote_is_applied_once(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        session: HandSession,
        rig: Callable[..., FunctionRig],
    ) -> None:
        inbox = Inbox()
        other = HandSession(writer_queue, listen(inbox).address, inbox)
        other.push(other.request(Op.REGISTER_SESSION))
        session.push(session.request(Op.CREATE, "/shared", b"0"))
        session.push(session.request(Op.CREATE, "/jobs", b""))
        update = session.request(Op.SET_DATA, "/shared", b"mine")
        job = session.request(Op.CREATE, "/jobs/job-", b"", flags=FLAG_SEQUENTIAL)
        session.push(update, dedup="first delivery")
        session.push(job, dedup="first delivery of the job")
        rig().run()
        # Another session changes both nodes before the first session's messages come again.
        other_update = other.push(other.request(Op.SET_DATA, "/shared", b"theirs"))
        other_job = other.push(other.request(Op.CREATE, "/jobs/job-", b"", flags=FLAG_SEQUENTIAL))
        rig().run()
        session.push(update, dedup="second delivery")
        session.push(job, dedup="second delivery of the job")
        rig().run()
        assert inbox.wait_reply(other_update, self.settle_timeout).ok
        assert inbox.wait_reply(other_job, self.settle_timeout).ok
        stored = deployment.user_storage.read("/shared")
        assert stored is not None
        assert (stored.data, stored.stat.version) == (b"theirs", 2), "the redelivered set_data is not applied again"
        jobs = deployment.user_storage.read("/jobs")
        assert jobs is not None
        assert jobs.children == ["job-0000000000", "job-0000000001"], "the redelivered create made no third node"
        assert [r.ok for r in session.inbox.replies(update.seq)] == [True]
        assert [r.path for r in session.inbox.replies(job.seq)] == ["/jobs/job-0000000000"]

    def test_a_delivery_past_its_deadline_commits_and_answers_nothing(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        session: HandSession,
        rig: Callable[..., FunctionRig],
    ) -> None:
        session.push(session.request(Op.CREATE, "/late", b"0"))
        healthy = rig()
        healthy.run()
        for request in (
            session.request(Op.SET_DATA, "/late", b"1"),
            session.request(Op.SET_DATA, "/late", b"2", version=7),
        ):
            seq = session.push(request)
            before = deployment.user_storage.read("/late")
            (message,) = writer_queue.receive(1, 30.0)
            late = replace(message, deadline=time.time())  # its visibility timeout has just ended
            with pytest.raises(DeliveryExpired):
                healthy.writer.handle(late)
            assert deployment.user_storage.read("/late") == before, "a delivery past its deadline commits nothing"
            assert session.inbox.replies(seq) == [], "nor answers"
            record = deployment.system_storage.read_session(session.id)
            assert record is not None
            assert record.last_seq < seq, "nor records an outcome"
            writer_queue.release(message)
            healthy.run()
            session.inbox.wait_reply(seq, self.settle_timeout)
        update, refused = session.seq - 1, session.seq
        assert [r.ok for r in session.inbox.replies(update)] == [True]
        assert [r.error for r in session.inbox.replies(refused)] == ["BadVersion"]
        stored = deployment.user_storage.read("/late")
        assert stored is not None
        assert (stored.data, stored.stat.version) == (b"1", 1)

    def test_malformed_messages_are_dead_lettered_not_applied(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        session: HandSession,
    ) -> None:
        writers, distributors = RecordingQueue(writer_queue), RecordingQueue(distributor_queue)
        forged = WriteRequest(Op.CREATE, session.id, "not-the-token", session.seq + 1, path="/forged", data=b"evil")
        bad_path = codec.encode(
            {
                "op": "create",
                "session": session.id,
                "token": session.token,
                "seq": 40,
                "path": "no-slash",
                "version": -1,
                "flags": 0,
            }
        )
        poison = [b"garbage", forged.encode(), bad_path]
        for index, body in enumerate(poison):
            writers.send(body, session.id, f"poison-{index}")
        valid = session.push(session.request(Op.CREATE, "/valid", b"ok"))
        ghost = DistributorEvent(
            kind=EventKind.COMMIT,
            session_id=session.id,
            seq=99,
            reply_to=session.address,
            op=Op.CREATE,
            lock_token="never-held",
            updates=(NodeUpdate("/ghost", NodeState(True, Stat()), created=True),),
            data=(("/ghost", b"ghost"),),
            results=(OpResult(Op.CREATE, "/ghost", Stat(), created=True),),
        )
        distributors.send(b"\x00not an event", DISTRIBUTOR_GROUP, "poison-event")
        distributors.send(ghost.encode(), DISTRIBUTOR_GROUP, "ghost-event")
        FunctionRig(deployment, writers, distributors).run()
        assert session.inbox.wait_reply(valid, self.settle_timeout).ok, "the session goes on past poison"
        assert sorted(m.body for m, _ in writers.dead) == sorted(poison)
        assert [m.body for m, _ in distributors.dead] == [b"\x00not an event"]
        assert all(reason for _, reason in writers.dead + distributors.dead), "dead letters say why"
        for path in ("/forged", "/ghost", "no-slash"):
            assert deployment.user_storage.read(path) is None, f"{path} was applied"
        assert deployment.system_storage.read_node("/forged") is None
        assert session.inbox.replies(99) == [], "an event that never committed is not answered"
        root = deployment.user_storage.read("/")
        assert root is not None
        assert root.children == ["valid"]
        assert writer_queue.depth() == 0
        assert distributor_queue.depth() == 0

    def test_a_watch_stored_while_a_claimed_write_is_applied_fires_before_its_data(
        self,
        deployment: Deployment,
        fk_checked_config: Config,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        session: HandSession,
        rig: Callable[..., FunctionRig],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Between the distributor's claim of a set_data and its apply, a client reads the node
        and stores a data watch on it. The claim may have found no watch to look for, and the
        client's own re-read comes before the apply: the client must still be told, before it
        can read the new data, and only once."""
        # The rig runs the functions; a client of a provider that hosts them must not.
        monkeypatch.setattr(type(deployment), "function_host", lambda _self: None)
        created = session.push(session.request(Op.CREATE, "/watched", b"0"))
        rig().run()
        assert session.inbox.wait_reply(created, self.settle_timeout).ok
        watcher = FaaSKeeperClient(fk_checked_config, timeout=self.client_timeout)
        _while_running(rig(), watcher.start, self.settle_timeout)
        events = Events()
        read: list[Node] = []
        reading = threading.Thread(target=lambda: read.append(watcher.get_data("/watched", watch=events)))
        system = deployment.system_storage

        def read_and_watch_after_the_claim(point: str) -> None:
            if point != "distributor.claimed" or reading.ident is not None:
                return
            reading.start()
            wait_until(lambda: system.count_watches() == 1, self.settle_timeout, "the watch stored")
            time.sleep(0.2)  # for the storage to count it in the node's tally, where it keeps one

        changed = session.push(session.request(Op.SET_DATA, "/watched", b"1"))
        # The rig's deliveries are long enough for the client's read and registration inside one.
        FunctionRig(deployment, writer_queue, distributor_queue, faults=read_and_watch_after_the_claim).run()
        reply = session.inbox.wait_reply(changed, self.settle_timeout)
        assert reply.ok
        assert reply.stat is not None
        reading.join(self.client_timeout)
        assert [node.data for node in read] == [b"0"], "the read came before the apply"
        [event] = events.wait(1, self.settle_timeout)
        assert (event.event_type, event.path, event.timestamp) == (
            WatchEventType.NODE_DATA_CHANGED,
            "/watched",
            reply.stat.mzxid,
        )
        wait_until(lambda: system.count_watches() == 0, self.settle_timeout, "the fired watch removed")
        again = session.push(session.request(Op.SET_DATA, "/watched", b"2"))
        rig().run()
        assert session.inbox.wait_reply(again, self.settle_timeout).ok
        _while_running(rig(), watcher.stop, self.settle_timeout)
        assert len(events.events) == 1, f"a one-shot watch fired again: {events.events}"


def _while_running(rig: FunctionRig, call: Callable[[], object], timeout: float) -> None:
    """Run ``call`` (a client's start or stop, which waits for the functions) beside the rig."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as err:
            failed.append(err)

    caller = threading.Thread(target=run)
    caller.start()
    rig.run_until(lambda: not caller.is_alive(), timeout, f"{call.__qualname__} beside the functions")
    if failed:
        raise failed[0]
