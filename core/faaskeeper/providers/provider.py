"""The upstream client's interface of a cloud's client-side operations, and its dispatch of
:mod:`faaskeeper.operations` to them."""

from __future__ import annotations

import secrets
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from faaskeeper.api.provider import Deployment
from faaskeeper.api.storage import WatchRecord
from faaskeeper.config import Config
from faaskeeper.exceptions import (
    MalformedInputException,
    NodeDoesntExistException,
    SessionExpiredException,
    WatchSetFailureException,
)
from faaskeeper.node import Node
from faaskeeper.operations import DirectOperation, ExistsNode, GetChildren, GetData, RegisterSession
from faaskeeper.protocol.messages import Op, WriteRequest
from faaskeeper.providers.serialization import UserStorageReader, open_deployment
from faaskeeper.stats import counted_write
from faaskeeper.watch import Watch, WatchCallbackType, WatchType

#: The upstream's request names and the operations they are.
_OPS = {
    "create_node": Op.CREATE,
    "set_data": Op.SET_DATA,
    "delete_node": Op.DELETE,
    "deregister_session": Op.DEREGISTER_SESSION,
}


class ProviderClient(ABC):
    """What a cloud offers a client directly: reads of user storage, session registration, and
    watch registration. ``execute_request`` runs a :class:`DirectOperation` on it."""

    def __init__(self, cfg: Config) -> None:
        self._config = cfg

    @abstractmethod
    def get_data(
        self, path: str, watch: WatchCallbackType | None, listen_address: tuple[str, int]
    ) -> tuple[Node, Watch | None]:
        """The node and, when ``watch`` is given, the watch set on it."""

    @abstractmethod
    def exists(self, path: str) -> tuple[Node | None, Watch | None]:
        """The node without data, or None."""

    @abstractmethod
    def get_children(self, path: str, include_data: bool) -> tuple[list[Node], Watch | None]:
        """The node's children."""

    @abstractmethod
    def register_session(self, session_id: str, sourceAddr: str, heartbeat: bool) -> Any:
        """Register a session reachable at ``sourceAddr`` (the upstream's parameter name)."""

    @abstractmethod
    def register_watch(
        self, node: Node, watch_type: WatchType, watch: WatchCallbackType, listen_address: tuple[str, int]
    ) -> Watch:
        """Store a watch of ``watch_type`` on the version ``node`` of its path."""

    def execute_request(self, op: DirectOperation, listen_address: tuple[str, int]) -> Any:
        """Run ``op`` on this provider; NotImplementedError for an operation it does not know."""
        if isinstance(op, GetData):
            return self.get_data(op.path, op.watch, listen_address)
        if isinstance(op, ExistsNode):
            return self.exists(op.path)
        if isinstance(op, GetChildren):
            return self.get_children(op.path, op.include_data)
        if isinstance(op, RegisterSession):
            return self.register_session(op.session_id, op.source_addr, op.heartbeat)
        raise NotImplementedError(f"{type(op).__name__} is not an operation a provider client runs")


@dataclass
class _Session:
    token: str
    channel: str
    seq: int = 1


def channel_address(listen_address: tuple[str, int] | tuple[()] | str) -> str:
    """A client channel address from the upstream's forms: ``(ip, port)`` or ``"ip:port"`` for
    TCP; an address with a scheme (``tcp://``, a queue URL) is kept."""
    if isinstance(listen_address, tuple):
        if len(listen_address) != 2:
            raise MalformedInputException(f"A listen address is (ip, port), got {listen_address!r}")
        return f"tcp://{listen_address[0]}:{listen_address[1]}"
    if "://" in listen_address:
        return listen_address
    return f"tcp://{listen_address}"


class DeploymentClient(ProviderClient):
    """A :class:`ProviderClient` of any deployment, through its provider plugin: reads from user
    storage, sessions and requests through the writer queue, watches in system storage. Replies
    and notifications reach a session's channel as this project's client channel messages.
    Where the provider runs functions in client processes (local), this client runs them too.

    ``deployment``: one already open (it stays open); otherwise the client opens one, and
    ``close()`` releases it."""

    def __init__(self, cfg: Config, *, deployment: Deployment | None = None) -> None:
        super().__init__(cfg)
        self._owned = deployment is None
        self._deployment = deployment if deployment is not None else open_deployment(cfg)
        self._data_reader = UserStorageReader(cfg, deployment=self._deployment)
        self._sessions: dict[str, _Session] = {}
        self._guard = threading.Lock()
        self._host = self._deployment.function_host()
        if self._host is not None:
            self._host.start()

    def close(self) -> None:
        if self._host is not None:
            self._host.stop()
        if self._owned:
            self._deployment.close()

    def _send(self, request: WriteRequest, dedup_id: str) -> None:
        with counted_write():
            self._deployment.writer_queue.send(request.encode(), request.session_id, dedup_id)
        if self._host is not None:
            self._host.wake()

    def send_request(self, request_id: str, data: dict[str, Any]) -> int:
        """Send a request in the upstream's form (``CreateNode(...).generate_request()``) to the
        writer queue, as the next request of its session (registered here); returns its number
        in the session, which its reply carries."""
        op = _OPS.get(str(data.get("op")))
        if op is None:
            raise MalformedInputException(f"Not a request the writer takes: {data.get('op')!r}")
        session_id = str(data["session_id"])
        with self._guard:
            session = self._sessions.get(session_id)
            if session is None:
                raise SessionExpiredException(f"Session {session_id} was not registered by this client")
            session.seq += 1
            request = WriteRequest(
                op,
                session_id,
                session.token,
                session.seq,
                path=str(data.get("path", "/")),
                data=bytes(data.get("data") or b""),
                version=int(data.get("version", -1)),
                flags=int(data.get("flags", 0)),
                reply_to=session.channel,
            )
            if op is Op.DEREGISTER_SESSION:
                del self._sessions[session_id]
            self._send(request, request_id)
            return request.seq

    def get_data(
        self, path: str, watch_callback: WatchCallbackType | None, listen_address: tuple[str, int]
    ) -> tuple[Node, Watch | None]:
        node = self._data_reader.get_data(path)
        if node is None:
            raise NodeDoesntExistException(path)
        watch = None
        if watch_callback is not None:
            watch = self.register_watch(node, WatchType.GET_DATA, watch_callback, listen_address)
        return node, watch

    def exists(self, path: str) -> tuple[Node | None, Watch | None]:
        return self._data_reader.get_data(path, include_data=False, include_children=False), None

    def get_children(self, path: str, include_data: bool) -> tuple[list[Node], Watch | None]:
        node = self._data_reader.get_data(path, include_data=False)
        if node is None:
            raise NodeDoesntExistException(path)
        prefix = path.rstrip("/")
        children = [self._data_reader.get_data(f"{prefix}/{child}", include_data) for child in node.children or []]
        return [child for child in children if child is not None], None

    def register_session(self, session_id: str, source_addr: str, heartbeat: bool) -> None:
        """Register ``session_id``, whose replies and notifications go to ``source_addr``; its
        registration's reply arrives there too."""
        channel = channel_address(source_addr)
        session = _Session(secrets.token_hex(16), channel)
        request = WriteRequest(
            Op.REGISTER_SESSION,
            session_id,
            session.token,
            session.seq,
            channel=channel,
            heartbeat=heartbeat,
            reply_to=channel,
        )
        with self._guard:
            if session_id in self._sessions:
                raise MalformedInputException(f"Session {session_id} is already registered")
            self._sessions[session_id] = session
            self._send(request, request.request_id)

    def register_watch(
        self, node: Node, watch_type: WatchType, watch: WatchCallbackType, listen_address: tuple[str, int]
    ) -> Watch:
        """Store a watch on the version ``node`` of its path for the session registered here
        whose channel is ``listen_address``. WatchSetFailureException if the node changed
        meanwhile (the watch might miss that change): read the node again and retry."""
        channel = channel_address(listen_address)
        with self._guard:
            owners = [sid for sid, s in self._sessions.items() if s.channel == channel]
        if not owners:
            raise SessionExpiredException(f"No session registered by this client listens at {channel}")
        counter = node.stat.pzxid if watch_type is WatchType.GET_CHILDREN else node.stat.mzxid
        record = WatchRecord(node.path, watch_type.kind, owners[0], counter, channel)
        storage = self._deployment.system_storage
        claimed = storage.add_watch(record)
        shown = max(node.stat.mzxid, node.stat.pzxid)
        if claimed is None:
            again = self._data_reader.get_data(node.path, include_data=False, include_children=False)
            changed = again is None or max(again.stat.mzxid, again.stat.pzxid) != shown
        else:
            changed = claimed > shown
        if changed:
            storage.remove_watches([record])
            raise WatchSetFailureException(node.path, "the node changed while the watch was set")
        return Watch(counter, watch_type, watch)
