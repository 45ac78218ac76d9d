"""The exceptions FaaSKeeper raises to its users.

Every error that crosses the client API or a provider boundary is one of these; cloud SDK
errors are translated into :class:`ProviderException` at each provider's boundary.
"""

from __future__ import annotations


class FaaSKeeperException(Exception):
    """Base of every FaaSKeeper error."""

    #: Stable error code carried in replies from the functions to the client.
    code = "FaaSKeeperError"

    def __init__(self, msg: str) -> None:
        super().__init__(msg)


class ProviderException(FaaSKeeperException):
    """A provider's cloud service or local backend failed."""

    code = "ProviderError"


class AWSException(ProviderException):
    """A problem signaled by an AWS service (DynamoDB, S3, SQS, Lambda), as the upstream client named it."""

    code = "AWSError"


class DeploymentNotFoundException(ProviderException):
    """The deployment a config names does not exist: it was never deployed, or was removed."""

    code = "DeploymentNotFound"


class DeploymentUnusableException(ProviderException):
    """The deployment can no longer be used from here: it was removed, replaced or damaged while open.

    Every later call fails with it; a write that was in flight when it happened may or may not have
    taken effect in the deployment as it was."""

    code = "DeploymentUnusable"


class DeploymentCorruptException(DeploymentUnusableException):
    """The deployment's storage is damaged (a truncated or overwritten file)."""

    code = "DeploymentCorrupt"


class UnknownProviderException(FaaSKeeperException):
    """No installed plugin provides the requested provider."""

    code = "UnknownProvider"


class ConfigurationException(FaaSKeeperException):
    """A configuration is missing a key or holds a value of the wrong form."""

    code = "BadConfiguration"


class SessionClosingException(FaaSKeeperException):
    code = "SessionClosing"

    def __init__(self, msg: str = "Illegal operation while the session is closing") -> None:
        super().__init__(msg)


class SessionExpiredException(FaaSKeeperException):
    code = "SessionExpired"

    def __init__(self, msg: str = "Illegal operation on an expired or closed session") -> None:
        super().__init__(msg)


class ConnectionLossException(FaaSKeeperException):
    """A request was sent but its answer will never reach this client (the session was closed
    or released before it came, or its sending was interrupted): it may or may not have taken
    effect. ZooKeeper's ConnectionLoss; read the node to learn which."""

    code = "ConnectionLoss"

    def __init__(self, msg: str = "The request's outcome is unknown: it may or may not have taken effect") -> None:
        super().__init__(msg)


class TimeoutException(FaaSKeeperException):
    code = "Timeout"

    def __init__(self, time: float | str) -> None:
        if isinstance(time, str):
            super().__init__(time)
        else:
            super().__init__(f"Operation timed out after {time:g} [s]")


class WatchSetFailureException(FaaSKeeperException):
    """A watch could not be set on ``path``; ``reason`` says why, if known."""

    code = "WatchSetFailure"

    def __init__(self, path: str, reason: str | None = None) -> None:
        self.path = path
        message = f"Failed to set a watch on node {path}"
        super().__init__(f"{message}: {reason}" if reason else message)


class ZooKeeperException(FaaSKeeperException):
    """Errors that mirror ZooKeeper's error codes."""

    code = "ZooKeeperError"


class NodeExistsException(ZooKeeperException):
    code = "NodeExists"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Node {path} exists")


class NodeDoesntExistException(ZooKeeperException):
    code = "NoNode"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Node {path} does not exist")


class NotEmptyException(ZooKeeperException):
    code = "NotEmpty"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Node {path} has children")


class BadVersionError(ZooKeeperException):
    code = "BadVersion"

    def __init__(self, version: int, path: str | None = None) -> None:
        self.version = version
        self.path = path
        where = f" of {path}" if path else ""
        super().__init__(f"Update failed: version {version}{where} does not match the node's version")


class NoChildrenForEphemeralsException(ZooKeeperException):
    code = "NoChildrenForEphemerals"

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"Node {path} is ephemeral and cannot have children")


class MalformedInputException(ZooKeeperException):
    code = "MalformedInput"


class RolledBackException(ZooKeeperException):
    """An operation of a transaction that would have succeeded, undone because a later one failed
    (ZooKeeper's RolledBackError)."""

    code = "RolledBack"

    def __init__(self, message: str = "Rolled back: a later operation of the transaction failed") -> None:
        super().__init__(message)


class RuntimeInconsistencyException(ZooKeeperException):
    """An operation of a transaction not run because an earlier one failed (ZooKeeper's
    RuntimeInconsistency)."""

    code = "RuntimeInconsistency"

    def __init__(self, message: str = "Not run: an earlier operation of the transaction failed") -> None:
        super().__init__(message)


_BY_CODE: dict[str, type[FaaSKeeperException]] = {}


def _index(cls: type[FaaSKeeperException]) -> None:
    # The first class with a code keeps it: a subclass defined elsewhere (a test's, a plugin's)
    # that inherits or repeats a code must not change what a reported error rebuilds as.
    _BY_CODE.setdefault(cls.code, cls)
    for sub in cls.__subclasses__():
        _index(sub)


def from_code(code: str, message: str, path: str | None = None, version: int | None = None) -> FaaSKeeperException:
    """Rebuild the exception a function reported with ``code``."""
    if not _BY_CODE:
        _index(FaaSKeeperException)
    cls = _BY_CODE.get(code, FaaSKeeperException)
    if cls in (
        NodeExistsException,
        NodeDoesntExistException,
        NotEmptyException,
        NoChildrenForEphemeralsException,
    ):
        return cls(path or "")
    if cls is WatchSetFailureException:
        return WatchSetFailureException(path or "", message)
    if cls is BadVersionError:
        return BadVersionError(version if version is not None else -1, path)
    if cls is TimeoutException:
        return TimeoutException(message)
    if cls in (SessionClosingException, SessionExpiredException, ConnectionLossException):
        return cls(message)
    return cls(message)
