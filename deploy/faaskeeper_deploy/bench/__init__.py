"""``fk bench``: the latency of each ZooKeeper operation on FaaSKeeper, next to Apache ZooKeeper.

Every call is timed on its own with :func:`time.perf_counter_ns`, from the synchronous client API
(so a write includes the queue, the functions and the reply over the client channel). With
``--zookeeper`` the same operations run through kazoo against a ZooKeeper server in the same run,
alternating blocks of calls between the two systems so that noise on the machine hits both alike.

The ``watch`` workload (``--workload watch``) times instead how long a change takes to reach a
watcher in another OS process: from ``set_data`` being called here to the one-shot data watch's
callback running in a watcher process (:mod:`faaskeeper_deploy.bench.watcher`). Both ends read
:func:`time.perf_counter_ns`, which is CLOCK_MONOTONIC on Linux, one clock for the whole machine;
the bench checks that before it starts. Each round the watcher sets the watch and says so, the
setter reads the clock and calls ``set_data``, and the watcher's callback reads the clock and
writes the reading to its standard output; the round's latency is the difference.

The other workloads (concurrent clients in a read/write mix, async pipelines, fan-out to many
watchers, the operations at each node size) and the suite that runs them are described in their
modules; :mod:`faaskeeper_deploy.bench.cli` is the command. Without ``--config`` the FaaSKeeper side
is a throwaway local deployment in a temporary directory.
"""

from __future__ import annotations

from faaskeeper_deploy.bench.common import (
    BLOCK,
    CHILDREN,
    FAASKEEPER,
    OPERATIONS,
    OPERATIONS_WORKLOAD,
    WATCH_OPERATIONS,
    WATCH_WORKLOAD,
    WATCHER_TIMEOUT,
    WORKLOADS,
    ZOOKEEPER,
    BenchError,
)
from faaskeeper_deploy.bench.report import format_table
from faaskeeper_deploy.bench.run import run_bench
from faaskeeper_deploy.bench.stats import BenchResult, Summary, SystemResult, machine_info, percentile

__all__ = [
    "BLOCK",
    "CHILDREN",
    "FAASKEEPER",
    "OPERATIONS",
    "OPERATIONS_WORKLOAD",
    "WATCHER_TIMEOUT",
    "WATCH_OPERATIONS",
    "WATCH_WORKLOAD",
    "WORKLOADS",
    "ZOOKEEPER",
    "BenchError",
    "BenchResult",
    "Summary",
    "SystemResult",
    "format_table",
    "machine_info",
    "percentile",
    "run_bench",
]
