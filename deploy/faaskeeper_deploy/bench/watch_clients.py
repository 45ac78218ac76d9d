"""The clients that hold the watches of ``fk bench``'s watch and fan-out workloads.

A :class:`Watched` is a connected client of one system that sets one-shot data watches; its
callback reads :data:`clock` first thing. The watch workload runs one in a watcher process of
its own (:mod:`faaskeeper_deploy.bench.watcher`); the fan-out workload runs many in the bench's.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.watch import WatchedEvent
from faaskeeper_deploy.bench.systems import stop_faaskeeper, stop_kazoo

#: The clock of both ends of a round: CLOCK_MONOTONIC on Linux, one clock for the whole machine.
clock = time.perf_counter_ns

#: Called by a fired watch with the clock reading taken first thing, the event type and the path.
Fired = Callable[[int, str, str], None]


class Watched:
    """A connected client of one system that can set a one-shot data watch."""

    description: dict[str, Any]

    def arm(self, path: str, fired: Fired) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class FaaSKeeperWatched(Watched):
    def __init__(self, config: dict[str, Any]) -> None:
        self.client = FaaSKeeperClient(Config.deserialize(config))
        self.client.start()
        self.description = {"session": self.client.session_id}

    def arm(self, path: str, fired: Fired) -> None:
        def callback(event: WatchedEvent) -> None:
            now = clock()
            fired(now, event.type, event.path)

        self.client.get_data(path, watch=callback)

    def close(self) -> None:
        stop_faaskeeper(self.client)


class ZooKeeperWatched(Watched):
    def __init__(self, hosts: str, timeout: float = 10.0) -> None:
        from kazoo.client import KazooClient

        self.client: Any = KazooClient(hosts=hosts, timeout=timeout)
        self.client.start(timeout=timeout)
        self.description = {"session": f"{self.client.client_id[0]:#x}"}

    def arm(self, path: str, fired: Fired) -> None:
        def callback(event: Any) -> None:
            now = clock()
            fired(now, str(event.type), str(event.path))

        self.client.get(path, watch=callback)

    def close(self) -> None:
        stop_kazoo(self.client)


def connect(spec: dict[str, Any]) -> Watched:
    system = spec.get("system")
    if system == "faaskeeper":
        return FaaSKeeperWatched(spec["config"])
    if system == "zookeeper":
        return ZooKeeperWatched(str(spec["hosts"]))
    raise ValueError(f"unknown system {system!r}")
