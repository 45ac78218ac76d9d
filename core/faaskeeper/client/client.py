"""FaaSKeeperClient: a session with a FaaSKeeper deployment, drop-in for the upstream client.

Writes go to the writer queue of the deployment; reads go straight to user storage; results
come back over the client channel. Per session, operations complete in the order issued.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from enum import Enum
from typing import Any

from faaskeeper import paths
from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.api.storage import NO_NODE, WatchKind, WatchRecord
from faaskeeper.client.futures import CallbackRunner, Future
from faaskeeper.client.pipeline import Pipeline
from faaskeeper.client.watches import Owed, WatchRegistry
from faaskeeper.config import Config
from faaskeeper.exceptions import (
    ConnectionLossException,
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
from faaskeeper.node import Node
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.leases import Lease
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, FLAG_SEQUENTIAL, WRITES, Op, Reply, WriteRequest, pong
from faaskeeper.watch import WatchCallbackType, WatchEventType

log = logging.getLogger("faaskeeper.client")

DEFAULT_TIMEOUT = 30.0


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
        self._port = port if port != -1 else cfg.port
        self._heartbeat = heartbeat
        self._timeout = timeout
        self._session_id: str | None = None
        self._token = ""
        self._seq = 0
        #: The session's latest lease from the service, sent with every write.
        self._lease: Lease | None = None
        self._send_lock = threading.Lock()
        #: Serialises stop(): a second caller waits for the first and finds the session closed.
        self._stop_lock = threading.Lock()
        self._closing = False
        #: The first request the service refused because the session had ended: every later one
        #: is refused too (a session's requests are taken in order, and it never comes back).
        self._refused_from: int | None = None
        self._state = SessionState.LOST
        self._listeners: list[SessionListener] = []
        self._last_ping = 0.0
        self._deployment: Deployment | None = None
        self._listener: ChannelListener | None = None
        self._host: FunctionHost | None = None
        self._runner: CallbackRunner | None = None
        self._pipeline: Pipeline | None = None
        self._watches: WatchRegistry | None = None
        self._monitor: threading.Thread | None = None
        self._monitor_stop = threading.Event()
        if debug:
            logging.getLogger("faaskeeper").setLevel(logging.DEBUG)
        elif verbose or cfg.verbose:
            logging.getLogger("faaskeeper").setLevel(logging.INFO)

    # -- session --------------------------------------------------------------------------

    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def session_status(self) -> str:
        """ "CONNECTED" while the session is usable, else "DISCONNECTED" (the upstream client's strings)."""
        usable = self._session_id is not None and not self._closing and self._state is not SessionState.LOST
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
        if self._session_id is not None:
            self.stop()
        provider = get_provider(self._config.cloud_provider)
        provider.validate_config(self._config)
        self._deployment = provider.open(self._config)
        try:
            # After the open: a provider may read the limit from the deployment itself.
            self._max_data_size = provider.max_data_size(self._config)
        except BaseException:
            self._deployment.close()
            self._deployment = None
            raise
        self._deployment.on_failure(self._deployment_failed)
        self._runner = CallbackRunner()
        self._pipeline = Pipeline()
        self._watches = WatchRegistry(self._runner.submit)
        self._host = self._deployment.function_host()
        if self._host is not None:
            self._host.start()
        self._listener = self._deployment.listener(self._port)
        self._listener.start(self._on_message)
        self._session_id = uuid.uuid4().hex[:16]
        self._token = secrets.token_hex(16)
        self._seq = 0
        self._lease = None
        self._closing = False
        self._refused_from = None
        request = WriteRequest(
            Op.REGISTER_SESSION,
            self._session_id,
            self._token,
            0,
            channel=self._listener.address,
            heartbeat=self._heartbeat,
        )
        try:
            self._await_write(self._submit(request, lambda _reply: None))
        except BaseException:
            self._shutdown()
            raise
        self._last_ping = time.monotonic()
        self._set_state(SessionState.CONNECTED)
        if self._heartbeat:
            self._monitor_stop.clear()
            self._monitor = threading.Thread(target=self._watch_heartbeats, name="faaskeeper-session", daemon=True)
            self._monitor.start()
        log.info("registered session %s", self._session_id)
        return self._session_id

    def stop(self, timeout: float | None = None) -> None:
        """Close the session: its ephemeral nodes are deleted, then the connection is released.

        Calls still pending complete first: a write answered meanwhile with its outcome, one sent
        but not answered by then with :class:`ConnectionLossException` (it may or may not take
        effect), one never sent and a read with :class:`SessionExpiredException`. Calls made
        after ``stop`` began raise :class:`SessionClosingException`, then
        :class:`SessionExpiredException`. Safe to call again, and from several threads at once.

        :param timeout: seconds to wait for the service to close the session (default: the
            client's timeout). The connection is released either way; if the service has not
            answered by then, TimeoutException follows (the session closes when the request is
            processed, or expires). ``0`` releases at once, as a shutdown in a hurry wants."""
        with self._stop_lock:
            if self._session_id is None:
                return
            try:
                if self._state is not SessionState.LOST:
                    future = self._submit(
                        WriteRequest(Op.DEREGISTER_SESSION, self._session_id, self._token, 0), lambda _reply: None
                    )
                    future.get(self._timeout if timeout is None else timeout)
                    log.info("closed session %s", self._session_id)
            finally:
                self._set_state(SessionState.LOST)
                self._shutdown()

    def _shutdown(self) -> None:
        self._monitor_stop.set()
        if self._monitor is not None and self._monitor is not threading.current_thread():
            self._monitor.join(timeout=5)
        if self._pipeline is not None:
            self._pipeline.abandon(self._unanswered, SessionExpiredException("The session was closed"))
            self._pipeline.stop()
        if self._watches is not None:
            self._watches.drop_all()
        if self._listener is not None:
            self._listener.stop()
        if self._host is not None:
            self._host.stop()
        if self._runner is not None:
            self._runner.stop()
        if self._deployment is not None:
            self._deployment.close()
        self._listener = self._host = self._runner = self._deployment = None
        self._pipeline = None
        self._monitor = None
        self._session_id = None
        self._closing = False

    def _unanswered(self, seq: int) -> FaaSKeeperException:
        """What a write sent but not answered when the session is released completes with."""
        if self._refused_from is not None and seq > self._refused_from:
            return SessionExpiredException(f"Request {seq} was sent after the session ended")
        return ConnectionLossException(
            f"The session was released before request {seq} was answered: it may or may not have taken effect"
        )

    def __enter__(self) -> FaaSKeeperClient:
        if self._session_id is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _set_state(self, state: SessionState) -> None:
        if state is self._state:
            return
        self._state = state
        log.info("session %s is %s", self._session_id, state.value)
        runner = self._runner
        for listener in list(self._listeners):
            if runner is not None:
                runner.submit(listener, state)
            else:
                listener(state)

    def _deployment_failed(self, error: ProviderException) -> None:
        """The deployment cannot complete the calls in flight (see ``Deployment.on_failure``): they
        fail with why; the watches of a deployment that is gone never fire."""
        gone = isinstance(error, DeploymentUnusableException)
        log.log(logging.ERROR if gone else logging.DEBUG, "%s", error)
        if self._pipeline is not None:
            self._pipeline.abandon(lambda _seq: error, error)
        if self._watches is not None and gone:
            self._watches.drop_all()

    def _watch_heartbeats(self) -> None:
        """SUSPENDED when the service's heartbeats stop arriving; CONNECTED when they resume."""
        period = self._config.heartbeat_interval
        while not self._monitor_stop.wait(period / 2):
            if self._state is SessionState.LOST:
                return
            silent = time.monotonic() - self._last_ping
            if silent > 2 * period + 0.5:
                self._set_state(SessionState.SUSPENDED)

    def _lost(self) -> None:
        """The service ended this session: drop watches, refuse further calls. Writes already
        sent are answered as the service took them: those before the end with their outcome,
        those after it refused."""
        if self._state is SessionState.LOST:
            return
        self._set_state(SessionState.LOST)
        if self._watches is not None:
            self._watches.drop_all()

    # -- transport ------------------------------------------------------------------------

    def _on_message(self, payload: bytes) -> bytes | None:
        try:
            message = json.loads(payload)
            kind = message.get("kind")
        except (ValueError, AttributeError):
            log.warning("ignoring a malformed message on the client channel")
            return None
        try:
            if "lease" in message and kind in ("result", "ping"):
                self._take_lease(message["lease"])
            if kind == "result":
                reply = Reply.from_dict(message)
                if not reply.ok and reply.error == SessionExpiredException.code:
                    if self._refused_from is None or reply.seq < self._refused_from:
                        self._refused_from = reply.seq
                    self._lost()
                if self._pipeline is not None:
                    self._pipeline.on_reply(reply)
            elif kind == "watch":
                if self._watches is not None:
                    self._watches.notify(str(message["path"]), WatchEventType(message["event"]), int(message["txn"]))
            elif kind == "ping":
                self._last_ping = time.monotonic()
                if self._state is SessionState.SUSPENDED:
                    self._set_state(SessionState.CONNECTED)
                return pong(self._session_id or "") if self._state is not SessionState.LOST else None
            elif kind == "expired" and message.get("session") == self._session_id:
                self._lost()
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed %s message on the client channel", kind)
        return None

    def _take_lease(self, raw: object) -> None:
        try:
            lease = Lease.from_wire(raw)
        except MalformedMessage:
            log.warning("ignoring a malformed lease on the client channel")
            return
        if self._lease is None or lease.until > self._lease.until:
            self._lease = lease

    def _submit(self, request: WriteRequest, convert: Any) -> Future:
        assert self._deployment is not None
        assert self._pipeline is not None
        assert self._listener is not None
        future = Future(self._runner)
        with self._send_lock:
            # The close is the session's last request: nothing is sent after it, so nothing of
            # the session can take effect after it has ended.
            if self._closing:
                raise SessionClosingException()
            self._closing = request.op is Op.DEREGISTER_SESSION
            self._seq += 1
            request = WriteRequest(
                request.op,
                request.session_id,
                request.token,
                self._seq,
                path=request.path,
                data=request.data,
                version=request.version,
                flags=request.flags,
                channel=request.channel,
                heartbeat=request.heartbeat,
                reply_to=self._listener.address,
                lease=self._lease if request.op in WRITES else None,
            )
            queue, body, rid = self._deployment.writer_queue, request.encode(), request.request_id
            self._pipeline.add_write(
                request.seq, future, _checked(convert), lambda: queue.send(body, request.session_id, rid)
            )
        if self._host is not None:
            self._host.wake()
        return future

    def _await_write(self, future: Future) -> Any:
        """The write's result within the client's timeout; a timeout says why, if the provider can tell."""
        try:
            return future.get(self._timeout)
        except TimeoutException as err:
            hint = self._diagnose_stalled_write()
            if hint is None:
                raise
            raise TimeoutException(f"{err}: {hint}") from err

    def _diagnose_stalled_write(self) -> str | None:
        deployment = self._deployment
        if deployment is None:
            return None
        try:
            return deployment.diagnose_stalled_write()
        except Exception:  # a diagnosis must never hide the timeout itself
            log.debug("the provider could not say why a write stalled", exc_info=True)
            return None

    def _active(self) -> str:
        if self._session_id is None or self._state is SessionState.LOST:
            raise SessionExpiredException()
        if self._closing:
            raise SessionClosingException()
        return self._session_id

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
        result: Node = self._await_write(self.create_async(path, value, ephemeral, sequential))
        return result

    def create_async(self, path: str, value: bytes = b"", ephemeral: bool = False, sequential: bool = False) -> Future:
        session = self._active()
        paths.validate_path(path)
        if path == paths.ROOT:
            raise NodeExistsException(path)
        value = self._check_value(value)
        flags = (FLAG_EPHEMERAL if ephemeral else 0) | (FLAG_SEQUENTIAL if sequential else 0)

        def convert(reply: Reply) -> Node:
            return Node(reply.path or path, value, reply.stat or Node(path).stat)

        return self._submit(
            WriteRequest(Op.CREATE, session, self._token, 0, path=path, data=value, flags=flags), convert
        )

    def set_data(self, path: str, value: bytes = b"", version: int = -1) -> Node:
        """Replace a node's data, if ``version`` is -1 or matches; returns the node's new state."""
        result: Node = self._await_write(self.set_data_async(path, value, version))
        return result

    def set_data_async(self, path: str, value: bytes = b"", version: int = -1) -> Future:
        session = self._active()
        paths.validate_path(path)
        value = self._check_value(value)
        version = self._check_version(version)

        def convert(reply: Reply) -> Node:
            return Node(path, value, reply.stat or Node(path).stat)

        return self._submit(
            WriteRequest(Op.SET_DATA, session, self._token, 0, path=path, data=value, version=version), convert
        )

    def delete(self, path: str, version: int = -1) -> None:
        """Delete a node without children, if ``version`` is -1 or matches."""
        self._await_write(self.delete_async(path, version))

    def delete_async(self, path: str, version: int = -1) -> Future:
        session = self._active()
        paths.validate_path(path, allow_root=False)
        version = self._check_version(version)
        return self._submit(
            WriteRequest(Op.DELETE, session, self._token, 0, path=path, version=version), lambda _reply: None
        )

    # -- reads ----------------------------------------------------------------------------

    def _read(self, read: Callable[[], Any]) -> Future:
        self._active()
        assert self._pipeline is not None
        future = Future(self._runner)
        self._pipeline.add_read(future, read)
        return future

    def _fetch(self, path: str, with_data: bool) -> Node | None:
        """One read of user storage, after any notification it shows is owed (watch-before-data)."""
        deployment, watches = self._deployment, self._watches
        if deployment is None or watches is None:
            raise SessionExpiredException()
        node = deployment.user_storage.read(path, with_data=with_data)
        self._await_owed(watches.owed(path, node))
        return node

    def _await_owed(self, owed: list[Owed]) -> None:
        """Wait for the notifications a read showed are on their way (not for their callbacks)."""
        watches, runner = self._watches, self._runner
        if not owed or watches is None:
            return
        missing = watches.wait_for(owed, self._timeout)
        if not missing:
            return
        which = ", ".join(f"the {kind} watch on {path}" for path, kind in missing)
        message = f"Notifications for {which} did not arrive within {self._timeout:g} s"
        running = runner.running() if runner is not None else None
        if running is not None:
            message += f"; the callback thread has been running {running.name} for {running.seconds:.1f} s"
        raise TimeoutException(message)

    def _set_watch(
        self, path: str, kind: WatchKind, node: Node | None, callback: WatchCallbackType, with_data: bool
    ) -> None:
        """Register a watch on the version ``node`` of ``path`` that the caller just read.

        Held locally first, then stored. A write the distributor applied without finding the
        watch must show in a read after it, and fires the watch here: where the storage counted
        the watch in the node's tally, the writes claimed before it was counted that the first
        read does not show; elsewhere any write after the first read."""
        deployment, watches, session = self._deployment, self._watches, self._session_id
        if deployment is None or watches is None or session is None or self._listener is None:
            raise SessionExpiredException()
        counter = _counter(kind, node)
        held_at = watches.hold(path, kind, counter, callback)
        if held_at is None:
            return  # a notification received since the read fired it
        record = WatchRecord(path, kind, session, held_at, self._listener.address)
        try:
            claimed = deployment.system_storage.add_watch(record)
        except FaaSKeeperException as err:
            raise WatchSetFailureException(f"Could not set a {kind} watch on {path}: {err}") from err
        if claimed is None:
            again = deployment.user_storage.read(path, with_data=with_data)
        elif node is not None and claimed <= _shown(node):
            return
        else:
            again = self._read_through(path, claimed, with_data)
        change = _change(kind, node, again)
        if change is not None and watches.fire_now(path, kind, change, _counter(kind, again)):
            deployment.system_storage.remove_watches([record])

    def _read_through(self, path: str, txn: int, with_data: bool) -> Node | None:
        """Read ``path`` until it shows transaction ``txn``, claimed on it and so about to be
        applied, or is gone."""
        assert self._deployment is not None
        deadline = time.monotonic() + self._timeout
        delay = 0.002
        while True:
            node = self._deployment.user_storage.read(path, with_data=with_data)
            if node is None or _shown(node) >= txn:
                return node
            if time.monotonic() > deadline:
                raise TimeoutException(f"Transaction {txn} on {path} was not applied within {self._timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def get_data(self, path: str, watch: WatchCallbackType | None = None) -> Node:
        """The node with its data; NodeDoesntExistException if it does not exist.

        ``watch`` is called once, with a WatchedEvent, when the node's data changes or it is deleted."""
        result: Node = self.get_data_async(path, watch).get(self._timeout)
        return result

    def get_data_async(self, path: str, watch: WatchCallbackType | None = None) -> Future:
        paths.validate_path(path)
        callback = self._check_watch(watch)

        def read() -> Node:
            node = self._fetch(path, True)
            if node is None:
                raise NodeDoesntExistException(path)
            if callback is not None:
                self._set_watch(path, WatchKind.DATA, node, callback, False)
            return node

        return self._read(read)

    def exists(self, path: str, watch: WatchCallbackType | None = None) -> Node | None:
        """The node's stat (no data), or None if it does not exist.

        ``watch`` is called once when the node is created, changed or deleted."""
        result: Node | None = self.exists_async(path, watch).get(self._timeout)
        return result

    def exists_async(self, path: str, watch: WatchCallbackType | None = None) -> Future:
        paths.validate_path(path)
        callback = self._check_watch(watch)

        def read() -> Node | None:
            node = self._fetch(path, False)
            if callback is not None:
                self._set_watch(path, WatchKind.EXISTS, node, callback, False)
            return node

        return self._read(read)

    def get_children(self, path: str, include_data: bool = False, watch: WatchCallbackType | None = None) -> list[Node]:
        """The node's children in name order; with ``include_data``, each with its data and stat.

        ``watch`` is called once when a child is created or deleted, or the node is deleted."""
        result: list[Node] = self.get_children_async(path, include_data, watch).get(self._timeout)
        return result

    def get_children_async(
        self, path: str, include_data: bool = False, watch: WatchCallbackType | None = None
    ) -> Future:
        paths.validate_path(path)
        callback = self._check_watch(watch)

        def read() -> list[Node]:
            node = self._fetch(path, False)
            if node is None:
                raise NodeDoesntExistException(path)
            if callback is not None:
                self._set_watch(path, WatchKind.CHILDREN, node, callback, False)
            child_paths = [paths.join(path, name) for name in node.children or []]
            if not include_data:
                return [Node(p) for p in child_paths]
            assert self._deployment is not None
            assert self._watches is not None
            found = self._deployment.user_storage.read_many(child_paths)
            for child_path, child in zip(child_paths, found, strict=True):
                self._await_owed(self._watches.owed(child_path, child))
            return [n for n in found if n is not None]

        return self._read(read)


def _counter(kind: WatchKind, node: Node | None) -> int:
    """The counter a watch of ``kind`` is set at when the node reads as ``node``."""
    if node is None:
        return NO_NODE
    return node.stat.pzxid if kind is WatchKind.CHILDREN else node.stat.mzxid


def _shown(node: Node) -> int:
    """The last transaction that wrote this read of a node: every write claimed on the node
    sets its mzxid or its pzxid, or deletes it."""
    return max(node.stat.mzxid, node.stat.pzxid)


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


def _checked(convert: Any) -> Any:
    """Turn a failed reply into its exception, a successful one into the operation's result."""

    def run(reply: Reply) -> Any:
        if not reply.ok:
            raise from_code(reply.error or "", reply.message, reply.error_path, reply.version)
        return convert(reply)

    return run
