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
#: N concurrent clients, each a sequence of get_data and set_data in a given read share.
MIX_WORKLOAD = "mix"
#: get_data and set_data through the async API, with up to ``depth`` requests in flight.
PIPELINE_WORKLOAD = "pipeline"
#: One set_data to many clients holding a data watch on the node.
FANOUT_WORKLOAD = "fanout"
#: kazoo's Lock and Election recipes, through kazoo on both systems (faaskeeper.kazoo on FaaSKeeper).
RECIPES_WORKLOAD = "recipes"
#: create, get_children and delete of one node among N siblings, for each N of a series.
SIBLINGS_WORKLOAD = "siblings"
WORKLOADS: tuple[str, ...] = (
    OPERATIONS_WORKLOAD,
    WATCH_WORKLOAD,
    MIX_WORKLOAD,
    PIPELINE_WORKLOAD,
    FANOUT_WORKLOAD,
    RECIPES_WORKLOAD,
    SIBLINGS_WORKLOAD,
)
#: What the mix and pipeline workloads report (reads, then writes).
MIX_OPERATIONS: tuple[str, ...] = ("get_data", "set_data")
#: What the fan-out workload reports: set_data to the last watcher's callback, and to each one's.
FANOUT_OPERATIONS: tuple[str, ...] = ("fanout_last", "fanout_each")
#: What the recipes workload reports: a free lock's acquire and release, and an election's handover.
RECIPES_OPERATIONS: tuple[str, ...] = ("lock_acquire", "lock_release", "election_round")
#: What the siblings workload reports, in the order of each round: a create among the siblings, the
#: parent's get_children, and the delete of the node the round created.
SIBLINGS_OPERATIONS: tuple[str, ...] = ("create", "get_children", "delete")
#: The throughput of all the operations of a run together, beside those of each operation.
TOTAL = "total"
#: What the watch workload reports: the watch's latency, and the setter's set_data in the same rounds.
WATCH_OPERATIONS: tuple[str, ...] = ("watch", "set_data")
#: Seconds to wait for a watcher process to connect, to set a watch, or for the watch to fire.
WATCHER_TIMEOUT = 60.0

#: The node sizes of ``--sizes`` by default: 4 B to 250 kB, as in the upstream's evaluation.
DEFAULT_SIZES: tuple[int, ...] = (4, 1024, 16 * 1024, 64 * 1024, 250 * 1024)

#: The numbers of siblings of ``--siblings`` by default: from 10 to 100,000.
DEFAULT_SIBLINGS: tuple[int, ...] = (10, 1000, 10000, 100000)
#: The goal for an operation among many siblings: at most this many times its median among the fewest.
SIBLINGS_TARGET = 1.5

FAASKEEPER = "faaskeeper"
ZOOKEEPER = "zookeeper"

log = logging.getLogger("faaskeeper_deploy.bench")


class BenchError(FaaSKeeperException):
    """The benchmark could not run, or a system under test gave a wrong answer."""

    code = "BenchError"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and the noun, singular for one: ``1 client``, ``2 clients``."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
