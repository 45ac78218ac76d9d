"""FaaSKeeper's exceptions as kazoo's: the error a kazoo user catches for each FaaSKeeper error code."""

from __future__ import annotations

from kazoo import exceptions as kz

from faaskeeper.exceptions import FaaSKeeperException

#: kazoo's exception for each FaaSKeeper error code; a code not here maps through its base classes.
BY_CODE: dict[str, type[Exception]] = {
    "NoNode": kz.NoNodeError,
    "NodeExists": kz.NodeExistsError,
    "BadVersion": kz.BadVersionError,
    "NotEmpty": kz.NotEmptyError,
    "NoChildrenForEphemerals": kz.NoChildrenForEphemeralsError,
    "RolledBack": kz.RolledBackError,
    "RuntimeInconsistency": kz.RuntimeInconsistency,
    "SessionExpired": kz.SessionExpiredError,
    # Calls made while the session is being closed: kazoo's answer to calls on a closing client.
    "SessionClosing": kz.ConnectionClosedError,
    "ConnectionLoss": kz.ConnectionLoss,
    "Timeout": kz.OperationTimeoutError,
    "MalformedInput": kz.BadArgumentsError,
    "ProviderError": kz.SystemZookeeperError,
    "WatchSetFailure": kz.SystemZookeeperError,
    "BadConfiguration": kz.ConfigurationError,
    "FaaSKeeperError": kz.ZookeeperError,
}


def to_kazoo(error: BaseException) -> BaseException:
    """The kazoo exception for ``error`` (a FaaSKeeper exception), carrying its message and, as
    its cause, the original; anything else is returned as it is."""
    if not isinstance(error, FaaSKeeperException):
        return error
    for cls in type(error).__mro__:
        kazoo_cls = BY_CODE.get(getattr(cls, "code", ""))
        if kazoo_cls is not None:
            mapped = kazoo_cls(str(error))
            mapped.__cause__ = error
            return mapped
    return error  # pragma: no cover - FaaSKeeperException itself is in the table
