"""What the modules of ``fk bench`` share: the operations and workloads, the systems' names, the error."""

from __future__ import annotations

import logging

from faaskeeper.exceptions import FaaSKeeperException

#: The operations measured, in the order they run (creates make the nodes the deletes remove).
OPERATIONS: tuple[str, ...] = ("create", "get_data", "set_data", "exists", "get_children", "delete")
#: Children of the node that get_children lists.
CHILDREN = 10
#: Calls of one operation on one system before the other system takes its turn.
BLOCK = 50

#: The workloads of ``fk bench``: every operation on its own, or the latency of a watch.
OPERATIONS_WORKLOAD = "operations"
WATCH_WORKLOAD = "watch"
WORKLOADS: tuple[str, ...] = (OPERATIONS_WORKLOAD, WATCH_WORKLOAD)
#: What the watch workload reports: the watch's latency, and the setter's set_data in the same rounds.
WATCH_OPERATIONS: tuple[str, ...] = ("watch", "set_data")
#: Seconds to wait for a watcher process to connect, to set a watch, or for the watch to fire.
WATCHER_TIMEOUT = 60.0

FAASKEEPER = "faaskeeper"
ZOOKEEPER = "zookeeper"

log = logging.getLogger("faaskeeper_deploy.bench")


class BenchError(FaaSKeeperException):
    """The benchmark could not run, or a system under test gave a wrong answer."""

    code = "BenchError"
