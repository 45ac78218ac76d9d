"""The heartbeat function: pings every session and expires those that stopped answering.

Runs on a schedule. An expiry is a request in the writer queue, in the session's own FIFO
group, so the session's ephemeral nodes are deleted through the normal write path after every
write the session already sent, and their watchers are told.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.queue import Queue
from faaskeeper.api.storage import SessionRecord, SessionStatus, SystemStorage
from faaskeeper.protocol import leases
from faaskeeper.protocol.messages import Op, WriteRequest, expiry_proof, ping, sweep_proof
from faaskeeper.protocol.settings import FunctionSettings

log = logging.getLogger("faaskeeper.heartbeat")

#: The most seconds an expiry is sent before it is due. The writer holds it meanwhile, and where
#: the platform holds a message by redelivering it with backoff (Pub/Sub), every second held
#: costs deliveries toward the dead-letter limit.
EARLY_EXPIRY = 1.0


@dataclass
class HeartbeatReport:
    alive: list[str] = field(default_factory=list)
    silent: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)


class HeartbeatFunction:
    def __init__(
        self,
        system: SystemStorage,
        writer_queue: Queue,
        channel: ChannelSender,
        settings: FunctionSettings,
        *,
        parallelism: int = 16,
    ) -> None:
        self._system = system
        self._queue = writer_queue
        self._channel = channel
        self._settings = settings
        self._parallelism = parallelism

    def run(self) -> HeartbeatReport:
        report = HeartbeatReport()
        # Leases are issued as of the listing: a session seen active here ended, if it did, after
        # this time, so the leases this run gives it run out by its end's hold.
        listed_at = self._settings.clock()
        records = self._system.list_sessions()
        self._settle_ended([s for s in records if not s.active], listed_at)
        sessions = [s for s in records if s.heartbeat and s.active]
        if not sessions:
            return report
        with ThreadPoolExecutor(min(self._parallelism, len(sessions)), thread_name_prefix="faaskeeper-ping") as pool:
            answers = list(pool.map(lambda session: self._ping(session, listed_at), sessions))
        self._settings.fault("heartbeat.pinged")
        now = self._settings.clock()
        for session, alive in zip(sessions, answers, strict=True):
            if alive:
                report.alive.append(session.session_id)
                if session.silent_since != 0.0:
                    self._system.touch_session(session.session_id, 0.0)
                continue
            silent_since = session.silent_since or now
            if session.silent_since == 0.0:
                self._system.touch_session(session.session_id, now)
            if now >= self._expiry_sent(silent_since):
                self._expire(session, silent_since)
                report.expired.append(session.session_id)
            else:
                report.silent.append(session.session_id)
        return report

    def _expiry_sent(self, silent_since: float) -> float:
        """When the expiry of a session silent since ``silent_since`` is sent: a little before it
        is due (half a heartbeat interval, at most :data:`EARLY_EXPIRY`), so that a run whose
        pings took less time than the run that found the silence does not leave it to the next
        run. The writer holds it until it is due."""
        settings = self._settings
        return settings.expiry_due(silent_since) - min(settings.unseen_silence / 2, EARLY_EXPIRY)

    def _ping(self, session: SessionRecord, listed_at: float) -> bool:
        timeout = max(0.05, min(2.0, self._settings.heartbeat_interval))
        answer = self._channel.request(session.channel, ping(self._lease(session, listed_at)), timeout)
        if not answer:
            return False
        try:
            message = json.loads(answer)
        except ValueError:
            return False
        return isinstance(message, dict) and message.get("session") == session.session_id

    def _lease(self, session: SessionRecord, issued: float) -> leases.Lease | None:
        """The next lease of a session that answered the last ping; none for a silent one, so
        that its leases have all ended when its expiry is due."""
        if session.silent_since != 0.0:
            return None
        settings = self._settings
        return leases.issue(
            settings.lease_key,
            settings.lease_duration,
            session.session_id,
            session.token_digest,
            session.channel,
            issued,
        )

    def _settle_ended(self, ended: list[SessionRecord], now: float) -> None:
        """Delete the records of drained sessions that may go (see
        :meth:`FunctionSettings.ended_record_kept_until`), and finish the end of any whose end's
        answer never passed the distributor (a message of it was dead-lettered): a sweep,
        answering no one."""
        settings = self._settings
        for session in ended:
            if session.status == SessionStatus.DRAINED and now >= settings.ended_record_kept_until(session):
                self._system.delete_session(session.session_id)
            elif (
                session.status == SessionStatus.ENDING
                and now >= settings.leases_end(session.ended_at) + settings.session_timeout
            ):
                log.warning(
                    "session %s ended at %.3f and its end never finished; sweeping",
                    session.session_id,
                    session.ended_at,
                )
                sweep = WriteRequest(
                    Op.SWEEP_SESSION,
                    session.session_id,
                    sweep_proof(session.token_digest, session.session_id),
                    0,
                    ends=Op.EXPIRE_SESSION,
                )
                self._queue.send(sweep.encode(), f"sweep:{session.session_id}", f"{session.session_id}:sweep:{now!r}")

    def _expire(self, session: SessionRecord, silent_since: float) -> None:
        log.info("expiring session %s: silent since %.3f", session.session_id, silent_since)
        request = WriteRequest(
            Op.EXPIRE_SESSION,
            session.session_id,
            expiry_proof(session.token_digest, session.session_id),
            0,
        )
        # One expiry per silence: a session that answers again and falls silent later is expired anew.
        dedup = f"{session.session_id}:expire:{silent_since!r}"
        self._queue.send(request.encode(), session.session_id, dedup)
        self._settings.fault("heartbeat.expired")
