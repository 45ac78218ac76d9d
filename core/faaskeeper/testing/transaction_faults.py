"""Conformance of transactions under failures: a transaction of 50 operations is all or nothing
when a function dies at any fault point, and is applied once however often its messages are
delivered."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Capability, Deployment
from faaskeeper.api.queue import PollingQueue
from faaskeeper.api.storage import NO_NODE, WatchKind, WatchRecord
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, FLAG_SEQUENTIAL, Op, TxnOp
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper.testing.fault_points import WRITE_FAULT_POINTS
from faaskeeper.testing.fixtures import ConformanceFixtures, requires
from faaskeeper.testing.redelivery import InterleavingQueue, TwiceQueue
from faaskeeper.testing.support import FunctionRig, HandSession, Inbox, crash_at, session_drained

#: The plain creates of the transaction; with an ephemeral and a sequential create, a set_data, a
#: check and a delete, it has 50 operations.
CREATES = 45
NAMES = [f"n{i:02d}" for i in range(CREATES)]
#: Seconds a writer may hold its locks: a writer takes the ~50 locks of the transaction one by one
#: and must be done within half of it, on an emulated cloud storage too.
LOCK_MAX_HOLD = 2.0
#: The parent's cversion before the transaction's sequential create: /big/old, the creates, /big/e.
SEQUENTIAL = f"s-{1 + CREATES + 1:010d}"


def _operations() -> tuple[TxnOp, ...]:
    ops = [TxnOp(Op.CREATE, f"/big/{name}", name.encode()) for name in NAMES]
    ops += [
        TxnOp(Op.CREATE, "/big/e", flags=FLAG_EPHEMERAL),
        TxnOp(Op.CREATE, "/big/s-", b"seq", flags=FLAG_SEQUENTIAL),
        TxnOp(Op.SET_DATA, "/big", b"set", version=0),
        TxnOp(Op.CHECK, "/big", version=1),
        TxnOp(Op.DELETE, "/big/old"),
    ]
    assert len(ops) == 50
    return tuple(ops)


@dataclass
class _Scenario:
    """``actor`` creates /big and /big/old, commits the 50-op transaction, a transaction that fails
    and closes; ``watcher`` holds an exists watch on /big/n00."""

    actor: HandSession
    watcher: HandSession
    setup: list[int]
    multi: int
    refused: int
    close: int


@requires(Capability.POLLING_QUEUES)
class TransactionFaultSuite(ConformanceFixtures):
    """A transaction of 50 operations under a crash at each fault point and under redelivery."""

    @pytest.fixture
    def txn_rig(self, function_rig: Callable[..., FunctionRig]) -> Callable[..., FunctionRig]:
        return functools.partial(function_rig, lock_max_hold=LOCK_MAX_HOLD)

    def _txn_scenario(
        self, deployment: Deployment, writer_queue: PollingQueue, listen: Callable[[Inbox], ChannelListener]
    ) -> _Scenario:
        actor_inbox, watcher_inbox = Inbox(), Inbox()
        actor = HandSession(writer_queue, listen(actor_inbox).address, actor_inbox)
        watcher = HandSession(writer_queue, listen(watcher_inbox).address, watcher_inbox)
        watcher.push(watcher.request(Op.REGISTER_SESSION))
        watch = WatchRecord("/big/n00", WatchKind.EXISTS, watcher.id, NO_NODE, watcher.address)
        deployment.system_storage.add_watch(watch)
        setup = [
            actor.push(actor.request(Op.REGISTER_SESSION)),
            actor.push(actor.request(Op.CREATE, "/big", b"0")),
            actor.push(actor.request(Op.CREATE, "/big/old", b"")),
        ]
        multi = actor.push(replace(actor.request(Op.MULTI), ops=_operations()))
        failing = (TxnOp(Op.SET_DATA, "/big", b"no"), TxnOp(Op.CREATE, "/big/n00"))
        refused = actor.push(replace(actor.request(Op.MULTI), ops=failing))
        close = actor.push(actor.request(Op.DEREGISTER_SESSION))
        return _Scenario(actor, watcher, setup, multi, refused, close)

    @staticmethod
    def _txn_all_or_nothing(deployment: Deployment) -> bool:
        """Whether user storage shows the transaction whole (True) or not at all (False)."""
        user = deployment.user_storage
        present = [name for name in NAMES if user.read(f"/big/{name}") is not None]
        assert present in ([], NAMES), f"user storage shows part of the transaction: {present}"
        big = user.read("/big")
        if not present:
            assert big is None or big.data == b"0", "the set_data showed without the creates"
            return False
        assert big is not None
        assert (big.data, big.stat.version) == (b"set", 1)
        assert user.read("/big/old") is None, "the creates showed without the delete"
        assert user.read(f"/big/{SEQUENTIAL}") is not None, "the creates showed without the sequential one"
        return True

    def _txn_converged(self, deployment: Deployment, scenario: _Scenario) -> None:
        actor = scenario.actor
        for seq in [*scenario.setup, scenario.multi, scenario.refused, scenario.close]:
            replies = actor.inbox.replies(seq)
            assert replies, f"request {seq} was never answered"
            assert len({(r.ok, r.error, str(r.results)) for r in replies}) == 1, f"{seq} answered two ways"
        reply = actor.inbox.replies(scenario.multi)[0]
        assert reply.ok, f"the transaction failed: {reply}"
        assert reply.results is not None
        assert [r["path"] for r in reply.results[:CREATES]] == [f"/big/{n}" for n in NAMES]
        assert reply.results[CREATES + 1]["path"] == f"/big/{SEQUENTIAL}"
        refused = actor.inbox.replies(scenario.refused)[0]
        assert refused.results is not None
        assert (refused.ok, [r["error"] for r in refused.results]) == (False, ["RolledBack", "NodeExists"])
        assert self._txn_all_or_nothing(deployment), "the transaction was applied"
        user, system = deployment.user_storage, deployment.system_storage
        big = user.read("/big")
        assert big is not None
        assert big.children == [*NAMES, SEQUENTIAL], "the ephemeral node went with its session, once"
        assert big.stat.cversion == 1 + CREATES + 2 + 1 + 1, "every child change counted once"
        txn = big.stat.mzxid
        for name in NAMES:
            node = user.read(f"/big/{name}")
            assert node is not None
            assert (node.data, node.stat.czxid) == (name.encode(), txn), "one transaction id for every op"
        for path in ("/", "/big", "/big/old", "/big/e", "/big/n00", f"/big/{SEQUENTIAL}"):
            stored = system.read_node(path)
            if stored is not None:
                assert stored.lock is None, f"{path} is still locked"
                assert stored.pending == (), f"{path} still has pending transactions {stored.pending}"
        assert session_drained(system, actor.id)
        events = [m for m in scenario.watcher.inbox.messages if b'"kind": "watch"' in m]
        assert events, "the watcher was told of the create"
        assert len(set(events)) == 1, f"one notification (perhaps repeated), not several: {events}"
        assert f'"txn": {txn}'.encode() in events[0], "the notification names the transaction"

    @pytest.mark.parametrize("point", WRITE_FAULT_POINTS)
    def test_a_transaction_is_all_or_nothing_when_a_function_dies_at_each_point(
        self,
        point: str,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        txn_rig: Callable[..., FunctionRig],
    ) -> None:
        scenario = self._txn_scenario(deployment, writer_queue, listen)
        with pytest.raises(FunctionCrash, match=point.replace(".", r"\.")):
            txn_rig(faults=crash_at(point)).run()
        self._txn_all_or_nothing(deployment)
        txn_rig().run_until(
            lambda: scenario.actor.inbox.replies(scenario.close)
            and writer_queue.depth() == 0
            and distributor_queue.depth() == 0,
            # Fifty nodes locked, committed, claimed and applied one by one, perhaps twice.
            3 * self.settle_timeout,
            f"the deployment to converge after a crash at {point}",
        )
        self._txn_converged(deployment, scenario)

    def test_a_transaction_delivered_twice_is_applied_once(
        self,
        deployment: Deployment,
        writer_queue: PollingQueue,
        distributor_queue: PollingQueue,
        listen: Callable[[Inbox], ChannelListener],
        txn_rig: Callable[..., FunctionRig],
    ) -> None:
        scenario = self._txn_scenario(deployment, writer_queue, listen)
        writers = InterleavingQueue(TwiceQueue(writer_queue), random.Random(18))
        distributors = TwiceQueue(distributor_queue)
        txn_rig(writers=writers, distributors=distributors).run_until(
            lambda: scenario.actor.inbox.replies(scenario.close)
            and writer_queue.depth() == 0
            and distributor_queue.depth() == 0,
            3 * self.settle_timeout,
            "every message to be delivered twice",
        )
        assert distributors.redelivered, "the distributor's messages were delivered twice"
        self._txn_converged(deployment, scenario)
