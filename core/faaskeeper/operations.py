"""The upstream client's operation objects: a request as the upstream client queued it, its
wire form (``generate_request`` / ``deserialize``) and the reading of the upstream functions'
replies (``process_result``).

The client here sends :class:`faaskeeper.protocol.messages.WriteRequest` instead; these classes
stay for code that builds or parses requests and replies in the upstream format. Two upstream
slips are not repeated: ``CreateNode`` sends its ``flags`` (upstream always sent 0, so no node
was ephemeral or sequential) and keeps them when parsed.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any

from faaskeeper.client.futures import Future
from faaskeeper.exceptions import (
    BadVersionError,
    FaaSKeeperException,
    NodeDoesntExistException,
    NodeExistsException,
    NotEmptyException,
    SessionExpiredException,
)
from faaskeeper.node import Node
from faaskeeper.version import SystemCounter, Version
from faaskeeper.watch import WatchCallbackType

log = logging.getLogger("faaskeeper.operations")


class Operation(ABC):
    """An operation of a session on a node.

    :param session_id: ID of current session
    :param path: path of target node
    """

    def __init__(self, session_id: str, path: str) -> None:
        self._session_id = session_id
        self._path = path

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def path(self) -> str:
        return self._path

    @property
    @abstractmethod
    def name(self) -> str:
        """The operation's name in requests."""


class RequestOperation(Operation):
    """An operation sent to the service's functions (a write)."""

    @abstractmethod
    def generate_request(self) -> dict[str, Any]:
        """The request as the upstream writer function reads it."""

    @abstractmethod
    def process_result(self, result: dict[str, Any], fut: Future[Any]) -> None:
        """Complete ``fut`` from the upstream functions' reply ``result``."""

    def is_cloud_request(self) -> bool:
        return True

    @staticmethod
    @abstractmethod
    def deserialize(request: dict[str, Any]) -> RequestOperation | None:
        """The operation a request describes, or None (logged) if a key is missing."""


class DirectOperation(Operation):
    """An operation the client carries out itself (a read of user storage)."""

    def __init__(self, session_id: str, path: str, watch: WatchCallbackType | None = None) -> None:
        super().__init__(session_id, path)
        self._watch = watch

    def is_cloud_request(self) -> bool:
        return False

    @property
    def watch(self) -> WatchCallbackType | None:
        return self._watch


def _failure(fut: Future[Any], result: dict[str, Any], known: dict[str, FaaSKeeperException]) -> None:
    reason = result.get("reason")
    if reason in known:
        fut.set_exception(known[reason])
    elif reason == "update_not_committed":
        fut.set_exception(FaaSKeeperException("Update could not be applied"))
    else:
        fut.set_exception(FaaSKeeperException(f"unknown error: {reason}"))


def _parsed(request: dict[str, Any], build: Any) -> Any:
    try:
        return build()
    except KeyError as err:
        log.error("Failed to parse the event %s, missing key %s", request, err)
        return None


class CreateNode(RequestOperation):
    def __init__(self, session_id: str, path: str, value: bytes | None, flags: int) -> None:
        super().__init__(session_id, path)
        self._value = value
        self._flags = flags
        self._value_encoded: str | None = None

    @property
    def value(self) -> bytes | None:
        return self._value

    @property
    def flags(self) -> int:
        """1 ephemeral, 2 sequential, as upstream."""
        return self._flags

    def generate_request(self) -> dict[str, Any]:
        return {
            "op": "create_node",
            "path": self._path,
            "session_id": self._session_id,
            "version": -1,
            "flags": self._flags,
            "data": self._value,
        }

    @staticmethod
    def deserialize(request: dict[str, Any]) -> CreateNode | None:
        def build() -> CreateNode:
            op = CreateNode(request["session_id"], request["path"], b"", int(request["flags"]))
            if "data" in request:
                op.data_b64 = request["data"]
            return op

        parsed: CreateNode | None = _parsed(request, build)
        return parsed

    def process_result(self, result: dict[str, Any], fut: Future[Any]) -> None:
        if result["status"] == "success":
            node = Node(path=result["path"])
            node.created = Version(SystemCounter.from_raw_data(result["system_counter"]), None)
            fut.set_result(node)
        else:
            path = result.get("path", self._path)
            _failure(
                fut,
                result,
                {"node_exists": NodeExistsException(path), "node_doesnt_exist": NodeDoesntExistException(path)},
            )

    def returns_directly(self) -> bool:
        return False

    @property
    def name(self) -> str:
        return "create"

    @property
    def data_b64(self) -> str:
        if self._value_encoded is None:
            raise AttributeError("the request carried no base64 data")
        return self._value_encoded

    @data_b64.setter
    def data_b64(self, val: str) -> None:
        self._value_encoded = val


class SetData(RequestOperation):
    def __init__(self, session_id: str, path: str, value: bytes, version: int) -> None:
        super().__init__(session_id, path)
        self._version = version
        self._value = value
        self._value_encoded: str | None = None

    @property
    def value(self) -> bytes:
        return self._value

    @property
    def version(self) -> int:
        return self._version

    def generate_request(self) -> dict[str, Any]:
        return {
            "op": self.name,
            "path": self._path,
            "session_id": self._session_id,
            "data": self._value,
            "version": self._version,
        }

    @staticmethod
    def deserialize(request: dict[str, Any]) -> SetData | None:
        def build() -> SetData:
            op = SetData(request["session_id"], request["path"], b"", int(request["version"]))
            if "data" in request:
                op.data_b64 = request["data"]
            return op

        parsed: SetData | None = _parsed(request, build)
        return parsed

    def process_result(self, result: dict[str, Any], fut: Future[Any]) -> None:
        if result["status"] == "success":
            node = Node(path=result["path"])
            node.modified = Version(SystemCounter.from_raw_data(result["modified_system_counter"]), None)
            fut.set_result(node)
        else:
            _failure(
                fut,
                result,
                {
                    "update_failure": BadVersionError(self._version, self._path),
                    "node_doesnt_exist": NodeDoesntExistException(self._path),
                },
            )

    def returns_directly(self) -> bool:
        return False

    @property
    def name(self) -> str:
        return "set_data"

    @property
    def data_b64(self) -> str:
        if self._value_encoded is None:
            raise AttributeError("the request carried no base64 data")
        return self._value_encoded

    @data_b64.setter
    def data_b64(self, val: str) -> None:
        self._value_encoded = val


class DeleteNode(RequestOperation):
    def __init__(self, session_id: str, path: str, version: int) -> None:
        super().__init__(session_id, path)
        self._version = version

    @property
    def version(self) -> int:
        return self._version

    def generate_request(self) -> dict[str, Any]:
        return {"op": self.name, "path": self._path, "session_id": self._session_id, "version": self._version}

    @staticmethod
    def deserialize(request: dict[str, Any]) -> DeleteNode | None:
        parsed: DeleteNode | None = _parsed(
            request, lambda: DeleteNode(request["session_id"], request["path"], int(request["version"]))
        )
        return parsed

    def process_result(self, result: dict[str, Any], fut: Future[Any]) -> None:
        if result["status"] == "success":
            fut.set_result(None)
        else:
            _failure(
                fut,
                result,
                {
                    "update_failure": BadVersionError(self._version, self._path),
                    "node_doesnt_exist": NodeDoesntExistException(self._path),
                    "not_empty": NotEmptyException(self._path),
                },
            )

    def returns_directly(self) -> bool:
        return False

    @property
    def name(self) -> str:
        return "delete_node"


class GetData(DirectOperation):
    def __init__(self, session_id: str, path: str, watch: WatchCallbackType | None = None) -> None:
        super().__init__(session_id, path, watch)

    @property
    def name(self) -> str:
        return "get_data"


class GetChildren(DirectOperation):
    def __init__(self, session_id: str, path: str, include_data: bool) -> None:
        super().__init__(session_id, path)
        self._include_data = include_data

    @property
    def name(self) -> str:
        return "get_children"

    @property
    def include_data(self) -> bool:
        return self._include_data


class ExistsNode(DirectOperation):
    def __init__(self, session_id: str, path: str) -> None:
        super().__init__(session_id, path)

    @property
    def name(self) -> str:
        return "exists"


class RegisterSession(DirectOperation):
    def __init__(self, session_id: str, source_addr: str, heartbeat: bool) -> None:
        super().__init__(session_id, "")
        self.source_addr = source_addr
        self.heartbeat = heartbeat

    @property
    def name(self) -> str:
        return "register_session"


class DeregisterSession(RequestOperation):
    def __init__(self, session_id: str) -> None:
        super().__init__(session_id, "")

    def generate_request(self) -> dict[str, Any]:
        return {"op": self.name, "session_id": self._session_id}

    @staticmethod
    def deserialize(request: dict[str, Any]) -> DeregisterSession | None:
        parsed: DeregisterSession | None = _parsed(request, lambda: DeregisterSession(request["session_id"]))
        return parsed

    def process_result(self, result: dict[str, Any], fut: Future[Any]) -> None:
        if result["status"] == "success":
            fut.set_result(result["session_id"])
        elif result.get("reason") == "session_does_not_exist":
            fut.set_exception(SessionExpiredException())
        else:
            fut.set_exception(FaaSKeeperException(f"unknown error: {result.get('reason')}"))

    @property
    def name(self) -> str:
        return "deregister_session"
