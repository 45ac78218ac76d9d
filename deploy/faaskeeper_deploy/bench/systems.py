"""The systems under test of ``fk bench``: FaaSKeeper through its client, ZooKeeper through kazoo."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack, suppress
from typing import Any

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import TimeoutException
from faaskeeper_deploy.bench.common import FAASKEEPER, ZOOKEEPER, BenchError, log
from faaskeeper_deploy.bench.interrupt import abandoned
from faaskeeper_deploy.bench.provenance import zookeeper_version


class System:
    """One system under test: the six operations as bound methods, plus setup and cleanup."""

    name: str
    #: Exceptions of the system's own client library that mean it failed.
    errors: tuple[type[BaseException], ...] = ()

    def __init__(self) -> None:
        self.description: dict[str, Any] = {}
        self.ops: dict[str, Callable[..., Any]] = {}
        #: get_data, set_data, create and delete returning a result whose ``get()`` waits for the reply.
        self.async_ops: dict[str, Callable[..., Any]] = {}
        #: Timed samples per operation, in nanoseconds.
        self.samples: dict[str, list[int]] = {}
        #: Operations per second, per operation and in total (mix and pipeline workloads).
        self.throughput: dict[str, float] = {}
        #: Memory figures in bytes (siblings workload: :mod:`~faaskeeper_deploy.bench.memory`).
        self.memory: dict[str, int] = {}

    def create(self, path: str, value: bytes) -> None:
        self.ops["create"](path, value)

    def read(self, path: str) -> bytes | None:
        raise NotImplementedError

    def children(self, path: str) -> list[str]:
        """Names of the children of ``path``."""
        raise NotImplementedError

    def remove_tree(self, path: str) -> None:
        raise NotImplementedError

    def kazoo_client(self) -> Any:
        """A new kazoo client of the system (not started), for kazoo's recipes."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class FaaSKeeperSystem(System):
    name = FAASKEEPER

    def __init__(self, config: Config, description: dict[str, Any]) -> None:
        super().__init__()
        self.config = config
        self.client = FaaSKeeperClient(config)
        self.client.start()
        self.description = {**description, "session": self.client.session_id}
        c = self.client
        self.ops = {
            "create": c.create,
            "get_data": c.get_data,
            "set_data": c.set_data,
            "exists": c.exists,
            "get_children": c.get_children,
            "delete": c.delete,
        }
        self.async_ops = {
            "get_data": c.get_data_async,
            "set_data": c.set_data_async,
            "create": c.create_async,
            "delete": c.delete_async,
        }

    def read(self, path: str) -> bytes | None:
        return self.client.get_data(path).data

    def children(self, path: str) -> list[str]:
        return [node.path.rsplit("/", 1)[1] for node in self.client.get_children(path)]

    def remove_tree(self, path: str) -> None:
        if self.client.exists(path) is None:
            return
        for name in self.children(path):
            self.remove_tree(f"{path}/{name}")
        self.client.delete(path)

    def kazoo_client(self) -> Any:
        """kazoo's client on this deployment: :class:`faaskeeper.kazoo.KazooClient`."""
        try:
            from faaskeeper.kazoo import KazooClient
        except ImportError as err:
            raise BenchError("the recipes workload needs kazoo: pip install 'faaskeeper[kazoo]'") from err
        return KazooClient(self.config)

    def close(self) -> None:
        stop_faaskeeper(self.client)


class ZooKeeperSystem(System):
    name = ZOOKEEPER

    def __init__(self, hosts: str, timeout: float = 10.0) -> None:
        super().__init__()
        try:
            import kazoo
            from kazoo.client import KazooClient
            from kazoo.exceptions import KazooException
            from kazoo.handlers.threading import KazooTimeoutError
        except ImportError as err:
            raise BenchError("--zookeeper needs kazoo: pip install 'faaskeeper[bench]'") from err
        self.errors = (KazooException, KazooTimeoutError)
        self.hosts, self.timeout = hosts, timeout
        self.client: Any = KazooClient(hosts=hosts, timeout=timeout)
        try:
            self.client.start(timeout=timeout)
        except self.errors as err:
            self.client.close()
            raise BenchError(f"Cannot connect to ZooKeeper at {hosts} within {timeout:g} s: {err}") from err
        server, built = self._server_version()
        self.description = {"hosts": hosts, "server": server, "server_built": built, "kazoo": kazoo.__version__}
        c = self.client
        self.ops = {
            "create": c.create,
            "get_data": c.get,
            "set_data": c.set,
            "exists": c.exists,
            "get_children": c.get_children,
            "delete": c.delete,
        }
        self.async_ops = {
            "get_data": c.get_async,
            "set_data": c.set_async,
            "create": c.create_async,
            "delete": c.delete_async,
        }

    def _server_version(self) -> tuple[str | None, str | None]:
        """The server's version and build date (:func:`~.provenance.zookeeper_version`)."""
        try:
            text: str = self.client.command(b"srvr")
        except Exception:  # the four-letter command may be disabled; the version is only informative
            return None, None
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "zookeeper version":
                return zookeeper_version(value)
        return None, None

    def read(self, path: str) -> bytes | None:
        data: bytes | None = self.client.get(path)[0]
        return data

    def children(self, path: str) -> list[str]:
        return list(self.client.get_children(path))

    def remove_tree(self, path: str) -> None:
        self.client.delete(path, recursive=True)

    def kazoo_client(self) -> Any:
        from kazoo.client import KazooClient

        return KazooClient(hosts=self.hosts, timeout=self.timeout)

    def close(self) -> None:
        stop_kazoo(self.client)


def stop_faaskeeper(client: FaaSKeeperClient) -> None:
    """End a FaaSKeeper session; after a second Ctrl-C, release the connection at once instead of
    waiting for the service (the session closes when the service gets to the request, or expires)."""
    if not abandoned():
        client.stop()
        return
    with suppress(TimeoutException):
        client.stop(timeout=0)


def stop_kazoo(client: Any) -> None:
    """End a ZooKeeper session and free its client; after a second Ctrl-C, leave it to expire."""
    if not abandoned():
        client.stop()
        client.close()


def quietly(system: System, fn: Callable[..., Any], *args: Any) -> None:
    """Clean up without hiding the benchmark's own outcome: a failure here is only logged."""
    try:
        fn(*args)
    except Exception as err:  # cleanup of a system that may already have failed
        log.warning("%s: cleanup (%s) failed: %s: %s", system.name, fn.__name__, type(err).__name__, err)


def remove_on_exit(
    stack: ExitStack, system: System, root: str, remove_tree: Callable[[str], None] | None = None
) -> None:
    """Remove ``root`` and all below it from ``system`` when ``stack`` closes (with ``remove_tree``,
    else the system's own); after a second Ctrl-C, say instead that it is left (unless the
    deployment is a throwaway one)."""

    def left() -> None:
        if not system.description.get("throwaway"):
            log.warning("%s: left %s in place: a second Ctrl-C skipped the cleanup", system.name, root)

    def remove() -> None:
        if abandoned():
            left()
            return
        try:
            quietly(system, remove_tree or system.remove_tree, root)
        except KeyboardInterrupt:
            left()
            raise

    stack.callback(remove)


def watched_node(stack: ExitStack, systems: Sequence[System], root: str, value: bytes) -> str:
    """Create ``root`` and ``root/watched`` (holding ``value``) on every system, removed with
    ``stack``; the watched node's path."""
    path = f"{root}/watched"
    for system in systems:
        remove_on_exit(stack, system, root)
        system.create(root, b"")
        system.create(path, value)
    return path
