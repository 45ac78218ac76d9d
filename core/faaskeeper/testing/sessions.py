"""Conformance of sessions through the client: registered until closed or expired, and their
ephemeral nodes and watches gone with them, never before."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import pytest

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment
from faaskeeper.api.queue import Queue
from faaskeeper.api.storage import SystemStorage
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import SessionExpiredException, TimeoutException
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, Op
from faaskeeper.testing.fixtures import ConformanceFixtures, on_expiry_config
from faaskeeper.testing.support import HandSession, Inbox, session_drained, wait_until

Factory = Callable[[], FaaSKeeperClient]


class SessionSuite(ConformanceFixtures):
    """A session's records and its ephemeral nodes live exactly as long as the session."""

    @on_expiry_config
    def test_session_is_registered_until_closed(
        self, client_factory: Factory, system_storage: SystemStorage, fk_checked_config: Config
    ) -> None:
        closing, staying = client_factory(), client_factory()
        assert closing.session_id is not None
        assert staying.session_id is not None
        record = system_storage.read_session(closing.session_id)
        assert record is not None
        assert record.status == "active"
        session_id = closing.session_id
        closing.stop()
        assert session_drained(system_storage, session_id), (
            "once its close is answered, the session has ended and its end has passed the distributor"
        )
        staying_record = system_storage.read_session(staying.session_id)
        assert staying_record is not None
        assert staying_record.active

    def test_ephemeral_nodes_end_with_their_session(self, client_factory: Factory) -> None:
        owner, observer = client_factory(), client_factory()
        owner.create("/eph", b"e", ephemeral=True)
        sequential = owner.create("/eph-seq-", ephemeral=True, sequential=True).path
        owner.create("/persistent", b"p")
        seen = observer.exists("/eph")
        assert seen is not None
        assert seen.stat.ephemeral_owner == owner.session_id
        observer.set_data("/eph", b"changed by another session")
        time.sleep(0.2)
        assert observer.exists("/eph") is not None, "an ephemeral node lives as long as its session"
        owner.stop()
        assert observer.exists("/eph") is None, "closing a session deletes its ephemeral nodes first"
        assert observer.exists(sequential) is None
        assert observer.get_data("/persistent").data == b"p"
        assert [n.path for n in observer.get_children("/")] == ["/persistent"]

    def test_new_session_after_another_closed(self, client_factory: Factory, system_storage: SystemStorage) -> None:
        """One process closes a session and opens another while it keeps the deployment open."""
        first = client_factory()
        first.create("/before")
        first.stop()
        second = client_factory()
        second.create("/after")
        assert second.exists("/before") is not None
        assert system_storage.count_nodes() == 3

    @on_expiry_config
    def test_silent_session_expires_and_loses_its_ephemeral_nodes(
        self,
        client_factory: Factory,
        deployment: Deployment,
        fk_checked_config: Config,
        listen: Callable[[Inbox], ChannelListener],
    ) -> None:
        """The provider runs the heartbeat function on its own; the test waits as long as the config's
        ``session-timeout`` and ``heartbeat-frequency`` say, so give fk_expiry_config short ones."""
        observer = client_factory()
        # A hand session answers no ping: it is silent from its registration on.
        registering = time.monotonic()
        silent = self._hand_session(deployment, listen, heartbeat=True)
        unwatched = self._hand_session(deployment, listen, heartbeat=False)
        for session in (silent, unwatched):
            created = session.push(session.request(Op.CREATE, f"/eph-{session.id}", flags=FLAG_EPHEMERAL))
            assert session.inbox.wait_reply(created, self.client_timeout).ok
        observer.create("/observer-eph", ephemeral=True)
        for session in (silent, unwatched):
            session.listener.stop()  # the client is gone without closing its session
        timeout = fk_checked_config.effective_session_timeout
        limit = timeout + 3 * fk_checked_config.heartbeat_frequency + self.settle_timeout
        wait_until(lambda: observer.exists(f"/eph-{silent.id}") is None, limit, "the silent session's expiry")
        assert time.monotonic() - registering >= timeout * 0.9, "expired before its session timeout"
        system = deployment.system_storage
        wait_until(lambda: session_drained(system, silent.id), self.settle_timeout, "the expired session's end")
        time.sleep(fk_checked_config.heartbeat_frequency)
        assert system.read_session(unwatched.id) is not None, "a session without heartbeats never expires"
        assert observer.exists(f"/eph-{unwatched.id}") is not None
        assert observer.exists("/observer-eph") is not None, "a session that answers heartbeats lives on"
        assert observer.session_id is not None
        assert system.read_session(observer.session_id) is not None

    @on_expiry_config
    def test_a_write_sent_after_its_sessions_close_takes_no_effect(
        self,
        client_factory: Factory,
        deployment: Deployment,
        fk_checked_config: Config,
        listen: Callable[[Inbox], ChannelListener],
    ) -> None:
        """A session's requests are taken in order; one behind its close is refused, even where
        the session's lease (which lets a write skip reading the session) has not run out."""
        observer = client_factory()
        observer.create("/kept", b"0")
        session = self._hand_session(deployment, listen, heartbeat=True)
        lease = session.lease()
        closed = session.push(session.request(Op.DEREGISTER_SESSION))
        late_create = session.push(session.request(Op.CREATE, "/late", flags=FLAG_EPHEMERAL, lease=lease))
        late_set = session.push(session.request(Op.SET_DATA, "/kept", b"late", lease=lease))
        wait = self.settle_timeout + fk_checked_config.effective_session_timeout
        assert session.inbox.wait_reply(closed, wait).ok
        for seq in (late_create, late_set):
            refused = session.inbox.wait_reply(seq, wait)
            assert (refused.ok, refused.error) == (False, "SessionExpired"), f"request {seq} after the close: {refused}"
        system = deployment.system_storage
        wait_until(lambda: session_drained(system, session.id), wait, "the close to be done")
        assert observer.exists("/late") is None, "an ephemeral node created after its session closed"
        assert system.ephemeral_nodes(session.id) == []
        kept = observer.get_data("/kept")
        assert (kept.data, kept.stat.version) == (b"0", 0), "a set_data sent after its session closed took effect"

    def test_stop_answers_pending_writes_with_their_outcome_or_as_unknown(self, client_factory: Factory) -> None:
        """Writes still pending when the session is released are answered with their outcome if
        it arrived, else as unknown (ConnectionLoss): never as failed when they take effect."""
        writer, observer = client_factory(), client_factory()
        writer.create("/n", b"0")
        pending = [writer.set_data_async("/n", b"%d" % i) for i in range(1, 6)]
        with contextlib.suppress(TimeoutException):
            writer.stop(timeout=0)
        assert all(f.done() for f in pending), "stop() completes every pending call"
        outcomes = [type(f.exception()).__name__ if f.exception() else "ok" for f in pending]
        assert set(outcomes) <= {"ok", "ConnectionLossException"}, outcomes
        # Every write was sent before the close, and a session's requests are taken in order.
        wait_until(lambda: observer.get_data("/n").stat.version == 5, self.settle_timeout, "all five to apply")
        assert observer.get_data("/n").data == b"5"

    def test_stop_from_several_threads_at_once(self, client_factory: Factory) -> None:
        owner, observer = client_factory(), client_factory()
        owner.create("/gone-with-it", ephemeral=True)
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def stop() -> None:
            start.wait()
            try:
                owner.stop()
            except BaseException as err:  # every caller's outcome is checked
                errors.append(err)

        threads = [threading.Thread(target=stop) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(self.client_timeout * 2)
        assert errors == [], "stop() is idempotent"
        assert owner.session_id is None
        assert observer.exists("/gone-with-it") is None
        with pytest.raises(SessionExpiredException):
            owner.create("/after-stop")

    def _hand_session(
        self, deployment: Deployment, listen: Callable[[Inbox], ChannelListener], *, heartbeat: bool
    ) -> _Silenceable:
        inbox = Inbox()
        listener = listen(inbox)
        session = _Silenceable(deployment.writer_queue, listener.address, inbox, listener)
        registered = session.push(session.request(Op.REGISTER_SESSION, heartbeat=heartbeat))
        assert inbox.wait_reply(registered, self.client_timeout).ok
        return session


class _Silenceable(HandSession):
    def __init__(self, queue: Queue, address: str, inbox: Inbox, listener: ChannelListener) -> None:
        super().__init__(queue, address, inbox)
        self.listener = listener
