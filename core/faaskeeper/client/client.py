"""FaaSKeeperClient: a session with a FaaSKeeper deployment, drop-in for the upstream client.

Writes go to the writer queue of the deployment; reads go straight to user storage; results
come back over the client channel. Per session, operations complete in the order issued.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from typing import Any, TypeVar

from faaskeeper import paths
from faaskeeper.api.queue import Queue
from faaskeeper.api.storage import NO_NODE, WatchKind, WatchRecord
from faaskeeper.client.applied import shown, shows_whole
from faaskeeper.client.futures import CallbackRunner, Future
from faaskeeper.client.pipeline import Pipeline
from faaskeeper.client.session import Session
from faaskeeper.client.watches import Owed, WatchRegistry
from faaskeeper.config import Config
from faaskeeper.exceptions import (
    DeploymentUnusableException,
    FaaSKeeperException,
    MalformedInputException,
    NodeDoesntExistException,
    NodeExistsException,
    ProviderException,
    SessionClosingException,
    SessionExpiredException,
    TimeoutException,
    WatchSetFailureException,
    from_code,
)
from faaskeeper.node import Node, Stat
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import (
    FLAG_EPHEMERAL,
    FLAG_SEQUENTIAL,
    REQUESTS,
    Op,
    Reply,
    TxnOp,
    WriteRequest,
    pong,
    transaction_headers,
    transaction_writes,
)
from faaskeeper.stats import counted_read, counted_write
from faaskeeper.transaction import Transaction
from faaskeeper.watch import WatchCallbackType, WatchEventType

log = logging.getLogger("faaskeeper.client")

DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")


class SessionState(Enum):
    """A session's state as kazoo's KazooState names it."""

    #: Registered, and the service's heartbeats arrive.
    CONNECTED = "CONNECTED"
    #: Heartbeats stopped arriving; the session may still be alive.
    SUSPENDED = "SUSPENDED"
    #: The session expired or was closed; its ephemeral nodes and watches are gone.
    LOST = "LOST"


SessionListener = Callable[[SessionState], None]


class FaaSKeeperClient:
    """A connection to a FaaSKeeper deployment, holding one session.

    :param cfg: the deployment's client config
    :param port: port the client channel listens on; -1 picks a free one
    :param heartbeat: whether the service keeps this session alive by heartbeats (and expires
        it when they go unanswered)
    :param verbose: log operations at INFO level
    :param debug: log everything at DEBUG level
    :param timeout: seconds a synchronous operation waits before TimeoutException
    """

    def __init__(
        self,
        cfg: Config,
        port: int = -1,
        heartbeat: bool = True,
        verbose: bool = False,
        debug: bool = False,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not isinstance(cfg, Config):
            raise MalformedInputException(f"cfg must be a faaskeeper.config.Config, got {type(cfg).__name__}")
        self._config = cfg
        self._max_data_size = cfg.max_data_size
        self._max_commit_writes: int | None = None
        self._port = port if port != -1 else cfg.port
        self._heartbeat = heartbeat
        self._timeout = timeout
        #: The session from ``start()`` until ``stop()`` has released it.
        self._session: Session | None = None
        self._send_lock = threading.Lock()
        #: Serialises stop(): a second caller waits for the first and finds the session closed.
        self._stop_lock = threading.Lock()
        self._closing = False
        self._state = SessionState.LOST
        self._listeners: list[SessionListener] = []
        if debug:
            logging.getLogger("faaskeeper").setLevel(logging.DEBUG)
        elif verbose or cfg.verbose:
            logging.getLogger("faaskeeper").setLevel(logging.INFO)

    # -- session --------------------------------------------------------------------------

    @property
    def session_id(self) -> str | None:
        session = self._session
        return session.session_id if session is not None else None

    @property
    def session_status(self) -> str:
        """ "CONNECTED" while the session is usable, else "DISCONNECTED" (the upstream client's strings)."""
        usable = self._session is not None and not self._closing and self._state is not SessionState.LOST
        return "CONNECTED" if usable else "DISCONNECTED"

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def config(self) -> Config:
        return self._config

    def add_listener(self, listener: SessionListener) -> None:
        """Call ``listener(state)`` on each change of the session's state (on the callback thread)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: SessionListener) -> None:
        self._listeners.remove(listener)

    def start(self) -> str:
        """Connect and register a new session; returns the session id."""
        if self._session is not None:
            self.stop()
        provider = get_provider(self._config.cloud_provider)
        provider.validate_config(self._config)
        deployment = provider.open(self._config)
        try:
            # After the open: a provider may read the limit from the deployment itself.
            self._max_data_size = provider.max_data_size(self._config)
            self._max_commit_writes = provider.max_commit_writes(self._config)
        except BaseException:
            deployment.close()
            raise
        deployment.on_failure(self._deployment_failed)
        runner = CallbackRunner()
        pipeline = Pipeline()
        watches = WatchRegistry(runner.submit)
        host = deployment.function_host()
        if host is not None:
            host.start()
        listener = deployment.listener(self._port)
        listener.start(self._on_message)
        session = Session(
            session_id=uuid.uuid4().hex[:16],
            token=secrets.token_hex(16),
            deployment=deployment,
            host=host,
            listener=listener,
            runner=runner,
            pipeline=pipeline,
            watches=watches,
        )
        self._session = session
        self._closing = False
        request = WriteRequest(
            Op.REGISTER_SESSION,
            session.session_id,
            session.token,
            0,
            channel=listener.address,
            heartbeat=self._heartbeat,
        )
        try:
            self._await_write(self._submit(session, request, _nothing))
        except BaseException:
            self._shutdown()
            raise
        session.last_ping = time.monotonic()
        self._set_state(SessionState.CONNECTED)
        if self._heartbeat:
            session.monitor = threading.Thread(
                target=self._watch_heartbeats, args=(session,), name="faaskeeper-session", daemon=True
            )
            session.monitor.start()
        log.info("registered session %s", session.session_id)
        return session.session_id

    def stop(self, timeout: float | None = None) -> str:
        """Close the session: its ephemeral nodes are deleted, then the connection is released.

        Calls still pending complete first: a write answered meanwhile with its outcome, one sent
        but not answered by then with :class:`ConnectionLossException` (it may or may not take
        effect), one never sent and a read with :class:`SessionExpiredException`. Calls made
        after ``stop`` began raise :class:`SessionClosingException`, then
        :class:`SessionExpiredException`. Safe to call again, and from several threads at once.

        :param timeout: seconds to wait for the service to close the session (default: the
            client's timeout). The connection is released either way; if the service has not
            answered by then, TimeoutException follows (the session closes when the request is
            processed, or expires). ``0`` releases at once, as a shutdown in a hurry wants.
        :returns: ``"closed"``, as the upstream client's ``stop`` did"""
        with self._stop_lock:
            session = self._session
            if session is None:
                return "closed"
            try:
                if self._state is not SessionState.LOST:
                    close = WriteRequest(Op.DEREGISTER_SESSION, session.session_id, session.token, 0)
                    future = self._submit(session, close, _nothing)
                    future.get(self._timeout if timeout is None else timeout)
                    log.info("closed session %s", session.session_id)
            finally:
                self._set_state(SessionState.LOST)
                self._shutdown()
        return "closed"

    def _shutdown(self) -> None:
        if self._session is not None:
            self._session.release()
        self._session = None
        self._closing = False

    def __enter__(self) -> FaaSKeeperClient:
        if self._session is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_state(self, state: SessionState) -> None:
        if state is self._state:
            return
        self._state = state
        session = self._session
        log.info("session %s is %s", session.session_id if session is not None else None, state.value)
        for listener in list(self._listeners):
            if session is not None:
                session.runner.submit(listener, state)
            else:
                listener(state)

    def _deployment_failed(self, error: ProviderException) -> None:
        """The deployment cannot complete the calls in flight (see ``Deployment.on_failure``): they
        fail with why; the watches of a deployment that is gone never fire."""
        gone = isinstance(error, DeploymentUnusableException)
        log.log(logging.ERROR if gone else logging.DEBUG, "%s", error)
        session = self._session
        if session is None:
            return
        session.pipeline.abandon(lambda _seq: error, error)
        if gone:
            session.watches.drop_all()

    def _watch_heartbeats(self, session: Session) -> None:
        """SUSPENDED when the service's heartbeats stop arriving; CONNECTED when they resume."""
        period = self._config.heartbeat_interval
        # Two periods and a half tolerate one ping arriving late; never more than the silence
        # the service allows after a ping whose answer it did not get, so a session learns it is
        # SUSPENDED no later than its expiry can be due.
        allowed = min(2 * period + 0.5, self._config.effective_session_timeout - period)
        checked = time.monotonic()
        #: Until when silence is not held against the service: see below.
        grace_until = checked
        while not session.monitor_stop.wait(period / 2):
            if self._state is SessionState.LOST:
                return
            now = time.monotonic()
            if now - checked > period:
                # This process did not run for a while (a long garbage collection, a machine
                # too busy, a stop): pings that arrived meanwhile are not read yet, and where the
                # functions run in this process none were sent. Its own stall is no evidence of
                # the service's silence; it gets the full allowance from now.
                grace_until = now + allowed
            checked = now
            silent = now - session.last_ping
            if silent > allowed and now >= grace_until:
                self._set_state(SessionState.SUSPENDED)

    def _lost(self, session: Session) -> None:
        """The service ended this session: drop watches, refuse further calls. Writes already
        sent are answered as the service took them: those before the end with their outcome,
        those after it refused."""
        if self._state is SessionState.LOST:
            return
        self._set_state(SessionState.LOST)
        session.watches.drop_all()

    # -- transport ------------------------------------------------------------------------

    def _on_message(self, payload: bytes) -> bytes | None:
        try:
            message = json.loads(payload)
            kind = message.get("kind")
        except (ValueError, AttributeError):
            log.warning("ignoring a malformed message on the client channel")
            return None
        session = self._session
        if session is None:
            return None  # the session was released: nothing waits for this
        try:
            if "lease" in message and kind in ("result", "ping"):
                session.take_lease(message["lease"])
            if kind == "result":
                reply = Reply.from_dict(message)
                if reply.ok and reply.stat is not None:
                    # The distributor answers a write once it has applied all of it.
                    session.applied.applied(shown(reply.stat))
                if not reply.ok and reply.error == SessionExpiredException.code:
                    session.refused(reply.seq)
                    self._lost(session)
                session.pipeline.on_reply(reply)
            elif kind == "watch":
                session.watches.notify(str(message["path"]), WatchEventType(message["event"]), int(message["txn"]))
            elif kind == "ping":
                session.last_ping = time.monotonic()
                if self._state is SessionState.SUSPENDED:
                    self._set_state(SessionState.CONNECTED)
                return pong(session.session_id) if self._state is not SessionState.LOST else None
            elif kind == "expired" and message.get("session") == session.session_id:
                self._lost(session)
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed %s message on the client channel", kind)
        return None

    def _submit(self, session: Session, request: WriteRequest, convert: Callable[[Reply], T]) -> Future[T]:
        """Send a request of ``session`` (its ``seq`` is given here); its future completes, in the
        session's order, with ``convert(reply)`` or the error the reply carries."""
        future: Future[T] = Future(session.runner)
        with self._send_lock:
            # The close is the session's last request: nothing is sent after it, so nothing of
            # the session can take effect after it has ended.
            if self._closing:
                raise SessionClosingException()
            if session is not self._session:
                raise SessionExpiredException()
            self._closing = request.op is Op.DEREGISTER_SESSION
            session.seq += 1
            request = replace(
                request,
                seq=session.seq,
                reply_to=session.listener.address,
                lease=session.lease if request.op in REQUESTS else None,
            )
            queue, body, rid = session.deployment.writer_queue, request.encode(), request.request_id
            session.pipeline.add_write(
                request.seq, future, _checked(convert), lambda: _send(queue, body, request.session_id, rid)
            )
        if session.host is not None:
            session.host.wake()
        return future

    def _await_write(self, future: Future[T]) -> T:
        """The write's result within the client's timeout; a timeout says why, if the provider can tell."""
        try:
            return future.get(self._timeout)
        except TimeoutException as err:
            hint = self._diagnose_stalled_write()
            if hint is None:
                raise
            raise TimeoutException(f"{err}: {hint}") from err

    def _diagnose_stalled_write(self) -> str | None:
        session = self._session
        if session is None:
            return None
        try:
            return session.deployment.diagnose_stalled_write()
        except Exception:  # a diagnosis must never hide the timeout itself
            log.debug("the provider could not say why a write stalled", exc_info=True)
            return None

    def _active(self) -> Session:
        session = self._session
        if session is None or self._state is SessionState.LOST:
            raise SessionExpiredException()
        if self._closing:
            raise SessionClosingException()
        return session

    def _check_value(self, value: object) -> bytes:
        if not isinstance(value, bytes):
            raise MalformedInputException(f"Node data must be bytes, got {type(value).__name__}")
        if len(value) > self._max_data_size:
            raise MalformedInputException(
                f"Node data of {len(value)} bytes exceeds the limit of {self._max_data_size} bytes"
            )
        return value

    @staticmethod
    def _check_version(version: object) -> int:
        if isinstance(version, bool) or not isinstance(version, int) or version < -1:
            raise MalformedInputException(f"version must be an integer >= -1, got {version!r}")
        return version

    @staticmethod
    def _check_watch(watch: object) -> WatchCallbackType | None:
        if watch is not None and not callable(watch):
            raise MalformedInputException(f"watch must be a callable taking a WatchedEvent, got {watch!r}")
        return watch

    # -- writes ---------------------------------------------------------------------------

    def create(self, path: str, value: bytes = b"", ephemeral: bool = False, sequential: bool = False) -> Node:
        """Create a node; returns it (its path carries the suffix of a sequential node)."""
        return self._await_write(self.create_async(path, value, ephemeral, sequential))

    def create_async(
        self, path: str, value: bytes = b"", ephemeral: bool = False, sequential: bool = False
    ) -> Future[Node]:
        session = self._active()
        paths.validate_path(path)
        if path == paths.ROOT:
            raise NodeExistsException(path)
        value = self._check_value(value)
        flags = (FLAG_EPHEMERAL if ephemeral else 0) | (FLAG_SEQUENTIAL if sequential else 0)

        def convert(reply: Reply) -> Node:
            return Node(reply.path or path, value, reply.stat or Node(path).stat)

        create = WriteRequest(Op.CREATE, session.session_id, session.token, 0, path=path, data=value, flags=flags)
        return self._submit(session, create, convert)

    def set_data(self, path: str, value: bytes = b"", version: int = -1) -> Node:
        """Replace a node's data, if ``version`` is -1 or matches; returns the node's new state."""
        return self._await_write(self.set_data_async(path, value, version))

    def set_data_async(self, path: str, value: bytes = b"", version: int = -1) -> Future[Node]:
        session = self._active()
        paths.validate_path(path)
        value = self._check_value(value)
        version = self._check_version(version)

        def convert(reply: Reply) -> Node:
            return Node(path, value, reply.stat or Node(path).stat)

        set_data = WriteRequest(
            Op.SET_DATA, session.session_id, session.token, 0, path=path, data=value, version=version
        )
        return self._submit(session, set_data, convert)

    def delete(self, path: str, version: int = -1) -> None:
        """Delete a node without children, if ``version`` is -1 or matches."""
        self._await_write(self.delete_async(path, version))

    def delete_async(self, path: str, version: int = -1) -> Future[None]:
        session = self._active()
        paths.validate_path(path, allow_root=False)
        version = self._check_version(version)
        delete = WriteRequest(Op.DELETE, session.session_id, session.token, 0, path=path, version=version)
        return self._submit(session, delete, _nothing)

    def transaction(self) -> Transaction:
        """A new transaction of this session (see :mod:`faaskeeper.transaction`)."""
        return Transaction(self)

    def _commit_transaction(self, ops: tuple[TxnOp, ...]) -> Future[list[Any]]:
        """Send a transaction, once it is known to fit the deployment's limits."""
        session = self._active()
        limit = self._max_commit_writes
        if limit is not None and len(ops) > limit:
            raise MalformedInputException(
                f"A transaction of {len(ops)} operations exceeds the provider's limit of {limit} per transaction"
            )
        if limit is not None and transaction_writes(ops) > limit:
            raise MalformedInputException(
                f"A transaction writing {transaction_writes(ops)} nodes exceeds the provider's limit of {limit} "
                "writes per commit"
            )
        data, headers = sum(len(op.data) for op in ops), transaction_headers(ops)
        if data + headers > self._max_data_size:
            raise MalformedInputException(
                f"A transaction's data of {data} bytes (and {headers} bytes for its operations' headers) "
                f"exceeds the limit of {self._max_data_size} bytes"
            )
        if not ops:
            return self._read(lambda _session: [])
        request = WriteRequest(Op.MULTI, session.session_id, session.token, 0, ops=ops)
        return self._submit(session, request, _transaction_results(ops))

    def sync(self, path: str) -> str:
        """Wait until every write completed before the call is visible to this client's reads."""
        return self._await_write(self.sync_async(path))

    def sync_async(self, path: str) -> Future[str]:
        """A barrier through the writer queue and the distributor, in the total order of writes."""
        session = self._active()
        path = paths.validate_path(path)
        sync = WriteRequest(Op.SYNC, session.session_id, session.token, 0, path=path)
        return self._submit(session, sync, lambda reply: reply.path or path)

    def ensure_path(self, path: str) -> None:
        """Create ``path`` and every missing ancestor (with empty data); nothing for those that exist."""
        paths.validate_path(path)
        parts = [] if path == paths.ROOT else path.split("/")[1:]
        for depth in range(1, len(parts) + 1):
            node = "/" + "/".join(parts[:depth])
            if self.exists(node) is not None:
                continue
            with contextlib.suppress(NodeExistsException):  # created meanwhile by another client
                self.create(node)

    # -- reads ----------------------------------------------------------------------------

    def _read(self, read: Callable[[Session], T]) -> Future[T]:
        """Run ``read(session)`` in the session's order."""
        session = self._active()
        future: Future[T] = Future(session.runner)
        session.pipeline.add_read(future, lambda: read(session))
        return future

    def _fetch(self, session: Session, path: str, with_data: bool) -> Node | None:
        """One read of user storage, once every write an earlier read showed part of is whole,
        and after any notification it shows is owed (watch-before-data)."""
        if session is not self._session:
            raise SessionExpiredException()
        self._await_whole(session)
        with counted_read():
            node = session.deployment.user_storage.read(path, with_data=with_data)
        session.applied.saw(node)
        self._await_owed(session, session.watches.owed(path, node))
        return node

    def _fetch_many(self, session: Session, wanted: list[str]) -> list[Node | None]:
        """The nodes at ``wanted`` read together, none of them showing part of a write that
        another shows all of (read again, once it is whole, until so)."""
        deadline = time.monotonic() + self._timeout
        while True:
            with counted_read():
                found = session.deployment.user_storage.read_many(wanted)
            for node in found:
                session.applied.saw(node)
            if session.applied.unproven() is None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutException(
                    f"Writes to {len(wanted)} nodes were not applied whole within {self._timeout:g} s"
                )
            self._await_whole(session)

    def _await_whole(self, session: Session) -> None:
        """Wait until every write a read of this session showed part of is applied whole: read
        the sentinel of the latest of them until it shows it (see :mod:`faaskeeper.client.applied`)."""
        footprint = session.applied.unproven()
        if footprint is None:
            return
        deadline = time.monotonic() + self._timeout
        delay = 0.002
        while True:
            with counted_read():
                sentinel = session.deployment.user_storage.read(footprint.sentinel, with_data=False)
            if shows_whole(footprint, sentinel):
                session.applied.applied(footprint.txn)
                return
            if time.monotonic() > deadline:
                raise TimeoutException(
                    f"Transaction {footprint.txn} was not applied to all its nodes within {self._timeout:g} s "
                    f"({footprint.sentinel} does not show it)"
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _await_owed(self, session: Session, owed: list[Owed]) -> None:
        """Wait for the notifications a read showed are on their way (not for their callbacks)."""
        if not owed:
            return
        missing = session.watches.wait_for(owed, self._timeout)
        if not missing:
            return
        which = ", ".join(f"the {kind} watch on {path}" for path, kind in missing)
        message = f"Notifications for {which} did not arrive within {self._timeout:g} s"
        running = session.runner.running()
        if running is not None:
            message += f"; the callback thread has been running {running.name} for {running.seconds:.1f} s"
        raise TimeoutException(message)

    def _set_watch(
        self,
        session: Session,
        path: str,
        kind: WatchKind,
        node: Node | None,
        callback: WatchCallbackType,
        with_data: bool,
    ) -> None:
        """Register a watch on the version ``node`` of ``path`` that the caller just read.

        Held locally first, then stored. A write the distributor applied without finding the
        watch must show in a read after it, and fires the watch here: where the storage counted
        the watch in the node's tally, the writes claimed before it was counted that the first
        read does not show; elsewhere any write after the first read."""
        if session is not self._session:
            raise SessionExpiredException()
        deployment, watches = session.deployment, session.watches
        counter = _counter(kind, node)
        held_at = watches.hold(path, kind, counter, callback)
        if held_at is None:
            return  # a notification received since the read fired it
        record = WatchRecord(path, kind, session.session_id, held_at, session.listener.address)
        try:
            claimed = deployment.system_storage.add_watch(record)
        except FaaSKeeperException as err:
            raise WatchSetFailureException(path, f"could not store the {kind} watch: {err}") from err
        if claimed is None:
            with counted_read():
                again = deployment.user_storage.read(path, with_data=with_data)
        elif node is not None and claimed <= shown(node.stat):
            return
        else:
            again = self._read_through(session, path, claimed, with_data)
        change = _change(kind, node, again)
        if change is not None and watches.fire_now(path, kind, change, _counter(kind, again)):
            deployment.system_storage.remove_watches([record])

    def _read_through(self, session: Session, path: str, txn: int, with_data: bool) -> Node | None:
        """Read ``path`` until it shows transaction ``txn``, claimed on it and so about to be
        applied, or is gone."""
        deadline = time.monotonic() + self._timeout
        delay = 0.002
        while True:
            with counted_read():
                node = session.deployment.user_storage.read(path, with_data=with_data)
            if node is None or shown(node.stat) >= txn:
                return node
            if time.monotonic() > deadline:
                raise TimeoutException(f"Transaction {txn} on {path} was not applied within {self._timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def get_data(self, path: str, watch: WatchCallbackType | None = None) -> Node:
        """The node with its data; NodeDoesntExistException if it does not exist.

        ``watch`` is called once, with a WatchedEvent, when the node's data changes or it is deleted."""
        return self.get_data_async(path, watch).get(self._timeout)

    def get_data_async(self, path: str, watch: WatchCallbackType | None = None) -> Future[Node]:
        paths.validate_path(path)
        callback = self._check_watch(watch)

        def read(session: Session) -> Node:
            node = self._fetch(session, path, True)
            if node is None:
                raise NodeDoesntExistException(path)
            if callback is not None:
                self._set_watch(session, path, WatchKind.DATA, node, callback, False)
            return node

        return self._read(read)

    def exists(self, path: str, watch: WatchCallbackType | None = None) -> Node | None:
        """The node's stat (no data), or None if it does not exist.

        ``watch`` is called once when the node is created, changed or deleted."""
        return self.exists_async(path, watch).get(self._timeout)

    def exists_async(self, path: str, watch: WatchCallbackType | None = None) -> Future[Node | None]:
        paths.validate_path(path)
        callback = self._check_watch(watch)

        def read(session: Session) -> Node | None:
            node = self._fetch(session, path, False)
            if callback is not None:
                self._set_watch(session, path, WatchKind.EXISTS, node, callback, False)
            return node

        return self._read(read)

    def get_children(self, path: str, include_data: bool = False, watch: WatchCallbackType | None = None) -> list[Node]:
        """The node's children in name order; with ``include_data``, each with its data and stat.

        ``watch`` is called once when a child is created or deleted, or the node is deleted."""
        return self.get_children_async(path, include_data, watch).get(self._timeout)

    def get_children_async(
        self, path: str, include_data: bool = False, watch: WatchCallbackType | None = None
    ) -> Future[list[Node]]:
        paths.validate_path(path)
        callback = self._check_watch(watch)

        def read(session: Session) -> list[Node]:
            node = self._fetch(session, path, False)
            if node is None:
                raise NodeDoesntExistException(path)
            if callback is not None:
                self._set_watch(session, path, WatchKind.CHILDREN, node, callback, False)
            child_paths = [paths.join(path, name) for name in node.children or []]
            if not include_data:
                return [Node(p) for p in child_paths]
            found = self._fetch_many(session, child_paths)
            for child_path, child in zip(child_paths, found, strict=True):
                self._await_owed(session, session.watches.owed(child_path, child))
            return [n for n in found if n is not None]

        return self._read(read)


def _counter(kind: WatchKind, node: Node | None) -> int:
    """The counter a watch of ``kind`` is set at when the node reads as ``node``."""
    if node is None:
        return NO_NODE
    return node.stat.pzxid if kind is WatchKind.CHILDREN else node.stat.mzxid


def _change(kind: WatchKind, before: Node | None, after: Node | None) -> WatchEventType | None:
    """The event between two reads of a node that a watch of ``kind`` fires on, if any."""
    if before is None:
        return WatchEventType.NODE_CREATED if after is not None else None
    if after is None:
        return WatchEventType.NODE_DELETED
    if kind is WatchKind.CHILDREN:
        return WatchEventType.NODE_CHILDREN_CHANGED if after.stat.pzxid != before.stat.pzxid else None
    if after.stat.czxid != before.stat.czxid:
        # Deleted and created again between the reads: the watch saw the delete.
        return WatchEventType.NODE_DELETED
    return WatchEventType.NODE_DATA_CHANGED if after.stat.mzxid != before.stat.mzxid else None


def _checked(convert: Callable[[Reply], T]) -> Callable[[Reply], T]:
    """Turn a failed reply into its exception, a successful one into the operation's result (a
    transaction's failure is its result)."""

    def run(reply: Reply) -> T:
        if not reply.ok and reply.results is None:
            raise from_code(reply.error or "", reply.message, reply.error_path, reply.version)
        return convert(reply)

    return run


def _send(queue: Queue, body: bytes, session_id: str, request_id: str) -> None:
    with counted_write():
        queue.send(body, session_id, request_id)


def _transaction_results(ops: tuple[TxnOp, ...]) -> Callable[[Reply], list[Any]]:
    """The results of a transaction from its reply: one per op, an exception for each on failure."""

    def convert(reply: Reply) -> list[Any]:
        if reply.results is None or len(reply.results) != len(ops):
            if not reply.ok:
                raise from_code(reply.error or "", reply.message, reply.error_path, reply.version)
            raise ProviderException(f"the reply to a transaction of {len(ops)} operations has no result of each")
        if not reply.ok:
            return [
                from_code(str(r.get("error", "")), str(r.get("message", "")), r.get("error_path"), r.get("version"))
                for r in reply.results
            ]
        out: list[Any] = []
        for op, result in zip(ops, reply.results, strict=True):
            if op.op is Op.CREATE:
                out.append(str(result["path"]))
            elif op.op is Op.SET_DATA:
                out.append(Stat.from_dict(result["stat"]))
            else:
                out.append(True)
        return out

    return convert


def _nothing(_reply: Reply) -> None:
    """The result of a request that has none (delete, and the session's own)."""
