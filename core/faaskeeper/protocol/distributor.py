"""The distributor function: applies committed writes to user storage in transaction order.

Triggered by the distributor queue (one FIFO group, so one total order). For each event it
claims the write in system storage if it committed (finishing the commit first if its writer died
between push and commit), applies it to user storage, fires its watches (delivering their
notifications itself, or through the watch function for a large fan-out), then tells the client.
Redelivered events are harmless: one claimed before is applied again to the same result, unless
a later write claimed one of its nodes since; one that never committed is dropped. A transaction
is one event: it is claimed on all its nodes, applied to all of them and has the watches of each
of its operations fired before its client is answered. A sync is an event that changes nothing:
answered in its place in the order, after every event before it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.queue import Queue, QueueMessage
from faaskeeper.api.storage import Claim, Lock, NodeUpdate, SystemStorage, UserStorage
from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Footprint, Node
from faaskeeper.protocol.messages import (
    DistributorEvent,
    EventKind,
    Op,
    Reply,
    WriteRequest,
    session_expired_notice,
    sweep_proof,
)
from faaskeeper.protocol.notify import Notifier
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.watch_function import WatchInvoker
from faaskeeper.protocol.writer import DeliveryExpired, commit_of

log = logging.getLogger("faaskeeper.distributor")


class Distributor:
    def __init__(
        self,
        system: SystemStorage,
        user: UserStorage,
        channel: ChannelSender,
        settings: FunctionSettings,
        watch_function: WatchInvoker | None = None,
        *,
        writer_queue: Queue,
    ) -> None:
        """``watch_function``: the deployment's watch function, which delivers the notifications
        of writes that notify more than ``settings.watch_fanout`` clients (see
        :mod:`faaskeeper.protocol.notify`); without one the distributor delivers them all itself.
        ``writer_queue``: where a session's end that left ephemeral nodes behind is sent back to
        be finished."""
        self._system = system
        self._user = user
        self._channel = channel
        self._settings = settings
        self._writer_queue = writer_queue
        self._watches = Notifier(system, channel, settings, watch_function)

    def handle(self, message: QueueMessage) -> None:
        event = DistributorEvent.decode(message.body)
        txn = message.sequence
        if event.kind is EventKind.BARRIER:
            self._end_session(event, txn)
            return
        if event.kind is EventKind.SYNC:
            # Every write pushed before it is applied and answered: the sync's client reads them.
            self._reply(event.reply_to, Reply.success(event.seq, event.path))
            return
        claim = self._claim(event, txn, message)
        if claim is None:
            log.info("transaction %d (%s %s) not committed, or superseded; dropped", txn, event.op, event.primary_path)
            return
        self._settings.fault("distributor.claimed")
        if not self._settings.holds(message):
            # A redelivery may already be applying this event, or a later one: writing now could
            # put an older version over a newer one.
            raise DeliveryExpired(f"transaction {txn} is past its delivery's deadline; left to its redelivery")
        self._apply(event, txn)
        self._settings.fault("distributor.applied")
        # Watches fire after the data is in user storage (a watch registered meanwhile is seen
        # by its client's re-read, or, counted after the claim, by the read that waits for this
        # transaction) and before the writer's client is answered.
        self._watches.fire([(r.op, r.path) for r in event.results], txn, claim.tallies)
        if event.counts_for_session:
            self._reply(event.reply_to, _success(event, txn))
        self._settings.fault("distributor.replied")

    def _end_session(self, event: DistributorEvent, txn: int) -> None:
        """The answer to a session's end, behind every write the session pushed before it: each
        of those is decided by now. An ephemeral node of the session still there was committed
        after the end listed them (its writer died after pushing it, and this function finished
        its commit): the end goes back to the writer to delete it, and is answered after."""
        session_id = event.session_id
        if self._system.ephemeral_nodes(session_id):
            self._send_back(event, txn)
            return
        # Drained before it is answered: a client told its session ended finds it so. The record
        # goes later (the held close or the heartbeat deletes it).
        self._system.drain_session(session_id)
        if event.op is Op.EXPIRE_SESSION:
            self._send(event.reply_to, session_expired_notice(session_id))
        else:
            self._reply(event.reply_to, Reply.success(event.seq))

    def _send_back(self, event: DistributorEvent, txn: int) -> None:
        session = self._system.read_session(event.session_id)
        if session is None:
            return
        log.warning("session %s ended with ephemeral nodes committed after its end; sweeping", event.session_id)
        sweep = WriteRequest(
            Op.SWEEP_SESSION,
            session.session_id,
            sweep_proof(session.token_digest, session.session_id),
            event.seq,
            reply_to=event.reply_to,
            ends=event.op,
        )
        # Its own group: the session's is held up by its close until its leases have run out.
        self._writer_queue.send(sweep.encode(), f"sweep:{session.session_id}", f"{session.session_id}:sweep:{txn}")

    def _claim(self, event: DistributorEvent, txn: int, delivery: QueueMessage) -> Claim | None:
        """Claim the transaction if it committed: one conditional write per node it updates.

        The claim comes before the write is applied, so a redelivery after a death anywhere later
        claims it again and applies it again, to the same result."""
        paths = [u.path for u in event.updates]
        claim = self._system.claim_transaction(paths, txn)
        if claim is not None:
            return claim
        lock = self._writer_lock(paths[-1], event)
        if lock is None:
            # The writer committed meanwhile, or it never will.
            return self._system.claim_transaction(paths, txn)
        # The writer pushed but has not committed: it is about to, or it died. Give it until half
        # its lock's hold (the writer never pushes later than that) before finishing the commit on
        # its behalf: a commit racing the writer's own costs a failed transaction. Never past the
        # point where this delivery can still apply what it commits.
        margin = self._settings.delivery_margin
        deadline = min(lock.timestamp + self._settings.lock_max_hold / 2, delivery.deadline - 3 * margin)
        delay = 0.002
        while self._settings.clock() < deadline:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            if self._writer_lock(paths[-1], event) is None:
                return self._system.claim_transaction(paths, txn)
        self._settings.fault("distributor.finishing")
        # The commit is the same conditional transaction whoever runs it; the first one wins.
        commit = commit_of(event, txn, self._settings, request_seq=event.seq if event.counts_for_session else None)
        if self._system.commit(commit):
            log.info("finished the commit of transaction %d for its writer", txn)
        return self._system.claim_transaction(paths, txn)

    def _writer_lock(self, path: str, event: DistributorEvent) -> Lock | None:
        """The lock of the event's writer on ``path``, if it still holds it."""
        node = self._system.read_node(path)
        if node is None or node.lock is None or node.lock.token != event.lock_token:
            return None
        return node.lock

    def _apply(self, event: DistributorEvent, txn: int) -> None:
        """Write each node the transaction changed to user storage (a node it only locked, the
        one its request is recorded on or one it checked, is left as it is).

        User storage takes one node at a time. When a write changes several, each of them
        records its footprint, and the sentinel goes last: a reader that saw one of them knows
        the write is whole once the sentinel shows it (``faaskeeper.client.applied``)."""
        data = dict(event.data)
        changed = [u for u in event.updates if u.created or u.modified or u.children_changed]
        sentinel = _sentinel(changed) if len(changed) > 1 else None
        footprint = None
        if sentinel is not None:
            changed.remove(sentinel)
            changed.append(sentinel)
            footprint = Footprint(txn, sentinel.path)
        for update in changed:
            state = update.resolved(txn)
            if not state.exists:
                self._user.delete(update.path)
            elif update.path in data:
                node = Node(update.path, data[update.path], state.stat, list(state.children), footprint=footprint)
                self._user.write(node)
            else:
                self._user.update_metadata(update.path, state.stat, state.children, footprint)

    def _reply(self, address: str, reply: Reply) -> None:
        self._send(address, reply.encode())

    def _send(self, address: str, message: bytes) -> None:
        if not address:
            return  # a sweep the heartbeat started answers no one
        try:
            self._channel.send(address, message)
        except ProviderException as err:
            log.warning("client at %s unreachable: %s", address, err)


def _sentinel(changed: list[NodeUpdate]) -> NodeUpdate | None:
    """The node a write that changed several shows itself whole by: one that existed before it
    and still does after it, so that a reader finds it gone only when a later write deleted it.
    Every such write has one (the parent of its uppermost create or delete, or a node it set);
    without one the write is applied as before footprints, each node on its own."""
    for update in changed:
        if not update.created and update.state.exists:
            return update
    log.error(
        "a write changing %s changes no node that it keeps; applied without a footprint", [u.path for u in changed]
    )
    return None


def _success(event: DistributorEvent, txn: int) -> Reply:
    """The reply to a committed write: a single write's path and the node's stat, a
    transaction's result of each op."""
    if event.op is not Op.MULTI:
        result = event.results[0]
        return Reply.success(event.seq, result.path, result.resolved_stat(txn))
    results = []
    for result in event.results:
        entry: dict[str, object] = {"path": result.path}
        stat = result.resolved_stat(txn)
        if stat is not None:
            entry["stat"] = stat.to_dict()
        results.append(entry)
    return replace(Reply.success(event.seq), results=results)
