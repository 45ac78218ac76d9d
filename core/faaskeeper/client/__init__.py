"""The FaaSKeeper client library."""

from faaskeeper.client.client import FaaSKeeperClient
from faaskeeper.client.futures import Future

__all__ = ["FaaSKeeperClient", "Future"]
