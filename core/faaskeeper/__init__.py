"""FaaSKeeper: ZooKeeper's data model and guarantees built from serverless parts.

The names the upstream client's package exported (``from faaskeeper import FaaSKeeperClient``)
are importable from here; they load on first use, so that importing a submodule (as the
functions do) does not load the client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "FaaSKeeperClient": "faaskeeper.client",
    "Future": "faaskeeper.threading",
    "StorageType": "faaskeeper.config",
    "BadVersionError": "faaskeeper.exceptions",
    "NodeExistsException": "faaskeeper.exceptions",
    "ProviderException": "faaskeeper.exceptions",
    "SessionClosingException": "faaskeeper.exceptions",
    "SessionExpiredException": "faaskeeper.exceptions",
    "TimeoutException": "faaskeeper.exceptions",
}

__all__ = [
    "BadVersionError",
    "FaaSKeeperClient",
    "Future",
    "NodeExistsException",
    "ProviderException",
    "SessionClosingException",
    "SessionExpiredException",
    "StorageType",
    "TimeoutException",
    "__version__",
]

if TYPE_CHECKING:
    from faaskeeper.client import FaaSKeeperClient
    from faaskeeper.config import StorageType
    from faaskeeper.exceptions import (
        BadVersionError,
        NodeExistsException,
        ProviderException,
        SessionClosingException,
        SessionExpiredException,
        TimeoutException,
    )
    from faaskeeper.threading import Future


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'faaskeeper' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
