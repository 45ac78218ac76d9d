"""FaaSKeeperClient: a session with a FaaSKeeper deployment, drop-in for the upstream client.

Writes go to the writer queue of the deployment; reads go straight to user storage; results
come back over the client channel. Per session, operations complete in the order issued.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import uuid
from typing import Any

from faaskeeper import paths
from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment, FunctionHost
from faaskeeper.client.futures import CallbackRunner, Future
from faaskeeper.client.pipeline import Pipeline
from faaskeeper.config import Config
from faaskeeper.exceptions import (
    FaaSKeeperException,
    MalformedInputException,
    NodeDoesntExistException,
    NodeExistsException,
    SessionClosingException,
    SessionExpiredException,
    from_code,
)
from faaskeeper.node import Node
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import FLAG_EPHEMERAL, FLAG_SEQUENTIAL, Op, Reply, WriteRequest

log = logging.getLogger("faaskeeper.client")

DEFAULT_TIMEOUT = 30.0


class FaaSKeeperClient:
    """A connection to a FaaSKeeper deployment, holding one session.

    :param cfg: the deployment's client config
    :param port: port the client channel listens on; -1 picks a free one
    :param heartbeat: whether the service should keep this session alive by heartbeats
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
        self._port = port if port != -1 else cfg.port
        self._heartbeat = heartbeat
        self._timeout = timeout
        self._session_id: str | None = None
        self._token = ""
        self._seq = 0
        self._send_lock = threading.Lock()
        self._closing = False
        self._deployment: Deployment | None = None
        self._listener: ChannelListener | None = None
        self._host: FunctionHost | None = None
        self._runner: CallbackRunner | None = None
        self._pipeline = Pipeline()
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
        return "CONNECTED" if self._session_id is not None and not self._closing else "DISCONNECTED"

    @property
    def config(self) -> Config:
        return self._config

    def start(self) -> str:
        """Connect and register a new session; returns the session id."""
        if self._session_id is not None:
            self.stop()
        provider = get_provider(self._config.cloud_provider)
        provider.validate_config(self._config)
        self._deployment = provider.open(self._config)
        self._runner = CallbackRunner()
        self._pipeline = Pipeline()
        self._host = self._deployment.function_host()
        if self._host is not None:
            self._host.start()
        self._listener = self._deployment.listener(self._port)
        self._listener.start(self._on_message)
        self._session_id = uuid.uuid4().hex[:16]
        self._token = secrets.token_hex(16)
        self._seq = 0
        self._closing = False
        request = WriteRequest(
            Op.REGISTER_SESSION,
            self._session_id,
            self._token,
            0,
            channel=self._listener.address,
            heartbeat=self._heartbeat,
        )
        try:
            self._submit(request, lambda _reply: None).get(self._timeout)
        except BaseException:
            self._shutdown()
            raise
        log.info("registered session %s", self._session_id)
        return self._session_id

    def stop(self) -> None:
        """Close the session: its ephemeral nodes are deleted, then the connection is released."""
        if self._session_id is None or self._closing:
            return
        try:
            future = self._submit(
                WriteRequest(Op.DEREGISTER_SESSION, self._session_id, self._token, 0), lambda _reply: None
            )
            self._closing = True
            future.get(self._timeout)
            log.info("closed session %s", self._session_id)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self._pipeline.fail_all(SessionExpiredException("The session was closed"))
        if self._listener is not None:
            self._listener.stop()
        if self._host is not None:
            self._host.stop()
        if self._runner is not None:
            self._runner.stop()
        if self._deployment is not None:
            self._deployment.close()
        self._listener = self._host = self._runner = self._deployment = None
        self._session_id = None
        self._closing = False

    def __enter__(self) -> FaaSKeeperClient:
        if self._session_id is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- transport ------------------------------------------------------------------------

    def _on_message(self, payload: bytes) -> bytes | None:
        try:
            message = json.loads(payload)
            kind = message.get("kind")
        except (ValueError, AttributeError):
            log.warning("ignoring a malformed message on the client channel")
            return None
        if kind == "result":
            try:
                reply = Reply.from_dict(message)
            except (KeyError, TypeError, ValueError):
                log.warning("ignoring a malformed result on the client channel")
                return None
            self._pipeline.on_reply(reply)
        return None

    def _submit(self, request: WriteRequest, convert: Any) -> Future:
        assert self._deployment is not None
        future = Future(self._runner)
        with self._send_lock:
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
            )
            self._pipeline.add_write(request.seq, future, _checked(convert))
            self._deployment.writer_queue.send(request.encode(), request.session_id, request.request_id)
        if self._host is not None:
            self._host.wake()
        return future

    def _active(self) -> str:
        if self._session_id is None:
            raise SessionExpiredException()
        if self._closing:
            raise SessionClosingException()
        return self._session_id

    def _check_value(self, value: object) -> bytes:
        if not isinstance(value, bytes):
            raise MalformedInputException(f"Node data must be bytes, got {type(value).__name__}")
        if len(value) > self._config.max_data_size:
            raise MalformedInputException(
                f"Node data of {len(value)} bytes exceeds the limit of {self._config.max_data_size} bytes"
            )
        return value

    @staticmethod
    def _check_version(version: object) -> int:
        if isinstance(version, bool) or not isinstance(version, int) or version < -1:
            raise MalformedInputException(f"version must be an integer >= -1, got {version!r}")
        return version

    # -- writes ---------------------------------------------------------------------------

    def create(self, path: str, value: bytes = b"", ephemeral: bool = False, sequential: bool = False) -> Node:
        """Create a node; returns it (its path carries the suffix of a sequential node)."""
        result: Node = self.create_async(path, value, ephemeral, sequential).get(self._timeout)
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
        result: Node = self.set_data_async(path, value, version).get(self._timeout)
        return result

    def set_data_async(self, path: str, value: bytes = b"", version: int = -1) -> Future:
        session = self._active()
        paths.validate_path(path)
        value = self._check_value(value)
        version = self._check_version(version)

        def convert(reply: Reply) -> Node:
            return Node(path, value, reply.stat or Node(path).stat)

        return self._submit(
            WriteRequest(Op.SET_DATA, session, self._token, 0, path=path, data=value, version=version),
            convert,
        )

    def delete(self, path: str, version: int = -1) -> None:
        """Delete a node without children, if ``version`` is -1 or matches."""
        self.delete_async(path, version).get(self._timeout)

    def delete_async(self, path: str, version: int = -1) -> Future:
        session = self._active()
        paths.validate_path(path, allow_root=False)
        version = self._check_version(version)
        return self._submit(
            WriteRequest(Op.DELETE, session, self._token, 0, path=path, version=version), lambda _reply: None
        )

    # -- reads ----------------------------------------------------------------------------

    def _read(self, read: Any) -> Future:
        self._active()
        future = Future(self._runner)
        self._pipeline.add_read(future, read)
        return future

    def _storage_read(self, path: str, with_data: bool) -> Node | None:
        assert self._deployment is not None
        return self._deployment.user_storage.read(path, with_data=with_data)

    def get_data(self, path: str, watch: Any = None) -> Node:
        """The node with its data; NodeDoesntExistException if it does not exist."""
        result: Node = self.get_data_async(path, watch).get(self._timeout)
        return result

    def get_data_async(self, path: str, watch: Any = None) -> Future:
        paths.validate_path(path)
        _no_watches_yet(watch)

        def read() -> Node:
            node = self._storage_read(path, True)
            if node is None:
                raise NodeDoesntExistException(path)
            return node

        return self._read(read)

    def exists(self, path: str, watch: Any = None) -> Node | None:
        """The node's stat (no data), or None if it does not exist."""
        result: Node | None = self.exists_async(path, watch).get(self._timeout)
        return result

    def exists_async(self, path: str, watch: Any = None) -> Future:
        paths.validate_path(path)
        _no_watches_yet(watch)
        return self._read(lambda: self._storage_read(path, False))

    def get_children(self, path: str, include_data: bool = False, watch: Any = None) -> list[Node]:
        """The node's children in name order; with ``include_data``, each with its data and stat."""
        result: list[Node] = self.get_children_async(path, include_data, watch).get(self._timeout)
        return result

    def get_children_async(self, path: str, include_data: bool = False, watch: Any = None) -> Future:
        paths.validate_path(path)
        _no_watches_yet(watch)

        def read() -> list[Node]:
            node = self._storage_read(path, False)
            if node is None:
                raise NodeDoesntExistException(path)
            names = node.children or []
            child_paths = [paths.join(path, name) for name in names]
            if not include_data:
                return [Node(p) for p in child_paths]
            assert self._deployment is not None
            found = self._deployment.user_storage.read_many(child_paths)
            return [n for n in found if n is not None]

        return self._read(read)


def _checked(convert: Any) -> Any:
    """Turn a failed reply into its exception, a successful one into the operation's result."""

    def run(reply: Reply) -> Any:
        if not reply.ok:
            raise from_code(reply.error or "", reply.message, reply.error_path, reply.version)
        return convert(reply)

    return run


def _no_watches_yet(watch: object) -> None:
    if watch is not None:
        raise FaaSKeeperException("Watches are not available in this version of the client")
