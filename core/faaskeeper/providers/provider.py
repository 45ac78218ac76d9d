"""The upstream client's interface of a cloud's client-side operations, and its dispatch of
:mod:`faaskeeper.operations` to them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from faaskeeper.config import Config
from faaskeeper.node import Node
from faaskeeper.operations import DirectOperation, ExistsNode, GetChildren, GetData, RegisterSession
from faaskeeper.watch import Watch, WatchCallbackType, WatchType


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
