"""``fk bench``: the latency of each ZooKeeper operation on FaaSKeeper, next to Apache ZooKeeper.

Every call is timed on its own with :func:`time.perf_counter_ns`, from the synchronous client API
(so a write includes the queue, the functions and the reply over the client channel). With
``--zookeeper`` the same operations run through kazoo against a ZooKeeper server in the same run,
alternating blocks of calls between the two systems so that noise on the machine hits both alike.

The ``watch`` workload (``--workload watch``) times instead how long a change takes to reach a
watcher in another OS process: from ``set_data`` being called here to the one-shot data watch's
callback running in a watcher process (:mod:`faaskeeper_deploy.bench_watcher`). Both ends read
:func:`time.perf_counter_ns`, which is CLOCK_MONOTONIC on Linux, one clock for the whole machine;
the bench checks that before it starts. Each round the watcher sets the watch and says so, the
setter reads the clock and calls ``set_data``, and the watcher's callback reads the clock and
writes the reading to its standard output; the round's latency is the difference.

Without ``--config`` the FaaSKeeper side is a throwaway local deployment in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from faaskeeper.config import Config
from faaskeeper_deploy import cli
from faaskeeper_deploy.bench_common import (
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
from faaskeeper_deploy.bench_operations import _run_operations
from faaskeeper_deploy.bench_report import format_table, write_json
from faaskeeper_deploy.bench_stats import BenchResult, Summary, SystemResult, machine_info, percentile
from faaskeeper_deploy.bench_systems import _FaaSKeeper, _quietly, _System, _ZooKeeper
from faaskeeper_deploy.bench_watch import _run_watch, _Watcher

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
    "_Watcher",
    "add_bench_parser",
    "cmd_bench",
    "format_table",
    "machine_info",
    "percentile",
    "run_bench",
]


@contextmanager
def _throwaway_local() -> Iterator[tuple[Config, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="fk-bench-") as directory:
        config = Config.deserialize(
            {"cloud-provider": "local", "deployment-name": "bench", "local": {"path": directory}}
        )
        yield config, {"provider": "local", "deployment": "bench", "throwaway": True, "path": directory}


def run_bench(
    config: Config | None = None,
    *,
    zookeeper: str | None = None,
    repetitions: int = 1000,
    warmup: int = 100,
    size: int = 100,
    progress: Callable[[str], None] | None = None,
    workload: str = OPERATIONS_WORKLOAD,
) -> BenchResult:
    """Time each operation ``repetitions`` times on FaaSKeeper (and ZooKeeper, given its hosts).

    With ``workload="watch"``, time ``repetitions`` rounds of a data watch in another process
    instead: from ``set_data`` called here to the watch's callback in a watcher process.

    :param config: client config of the FaaSKeeper deployment; None makes a throwaway local one
    :param zookeeper: kazoo hosts string (``HOST:PORT``) of the ZooKeeper to compare with
    :param repetitions: timed calls per operation (or watch rounds) and system
    :param warmup: untimed calls per operation (or watch rounds) and system before the timed ones
    :param size: bytes of each node's data
    :param progress: receives a line before each operation is measured
    :param workload: ``"operations"`` or ``"watch"``
    """
    if workload not in WORKLOADS:
        raise BenchError(f"workload must be one of {', '.join(WORKLOADS)}, got {workload!r}")
    if repetitions < 1:
        raise BenchError(f"repetitions must be at least 1, got {repetitions}")
    if warmup < 0:
        raise BenchError(f"warmup must be at least 0, got {warmup}")
    if size < 0:
        raise BenchError(f"size must be at least 0, got {size}")
    value = os.urandom(size)
    settings: dict[str, Any] = {
        "workload": workload,
        "repetitions": repetitions,
        "warmup": warmup,
        "size": size,
        "block": BLOCK,
        "operations": list(WATCH_OPERATIONS if workload == WATCH_WORKLOAD else OPERATIONS),
    }
    if workload == OPERATIONS_WORKLOAD:
        settings["children"] = CHILDREN
    else:
        settings["clock"] = time.get_clock_info("perf_counter").implementation
    machine = machine_info()
    with ExitStack() as stack:
        if config is None:
            config, description = stack.enter_context(_throwaway_local())
        else:
            description = {"provider": config.cloud_provider, "deployment": config.deployment_name, "throwaway": False}
        systems: list[_System] = []
        root = f"/fk-bench-{uuid.uuid4().hex[:12]}"
        errors: tuple[type[BaseException], ...] = ()
        try:
            fk = _FaaSKeeper(config, description)
            stack.callback(_quietly, fk, fk.close)
            systems.append(fk)
            if zookeeper is not None:
                zk = _ZooKeeper(zookeeper)
                stack.callback(_quietly, zk, zk.close)
                systems.append(zk)
                errors = zk.errors
            if workload == WATCH_WORKLOAD:
                _run_watch(stack, systems, config, root, value, repetitions, warmup, progress)
            else:
                _run_operations(stack, systems, root, value, repetitions, warmup, progress)
        except errors as err:
            raise BenchError(f"zookeeper: {type(err).__name__}: {err}") from err
        return BenchResult(
            machine=machine,
            settings=settings,
            systems={s.name: SystemResult(s.name, s.description, s.samples) for s in systems},
        )
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack does not swallow exceptions


# -- the command ---------------------------------------------------------------------------------


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def cmd_bench(args: argparse.Namespace) -> int:
    config = Config.from_file(args.config) if args.config else None

    def progress(line: str) -> None:
        print(f"fk bench: {line}", file=sys.stderr, flush=True)

    result = run_bench(
        config,
        zookeeper=args.zookeeper,
        repetitions=args.repetitions,
        warmup=args.warmup,
        size=args.size,
        progress=None if args.quiet else progress,
        workload=args.workload,
    )
    print(format_table(result))
    if args.json:
        path = Path(args.json)
        write_json(result, path)
        print(f"\nall figures written to {path}")
    return 0


def add_bench_parser(commands: Any) -> None:
    """Add ``fk bench`` to the subcommands of ``fk``."""
    bench = commands.add_parser(
        "bench",
        help="time each operation on FaaSKeeper, next to Apache ZooKeeper",
        description=(
            "Time each ZooKeeper operation (create, get_data, set_data, exists, get_children, delete) "
            "call by call through the synchronous FaaSKeeper client, and with --zookeeper through kazoo "
            "against Apache ZooKeeper in the same run, alternating blocks of calls between the two. "
            "--workload watch times instead a data watch across processes: from set_data called here to "
            "the watch's callback in a watcher client in another OS process. "
            "Without --config, FaaSKeeper is a throwaway local deployment in a temporary directory."
        ),
    )
    bench.add_argument(
        "--workload",
        choices=WORKLOADS,
        default=OPERATIONS_WORKLOAD,
        help=(
            "operations: time each operation (the default); watch: time from set_data here to the "
            "data watch's callback in a watcher client in another process"
        ),
    )
    bench.add_argument(
        "--config",
        metavar="CLIENT_CONFIG",
        help="client config of the deployment to measure (default: a throwaway local one)",
    )
    bench.add_argument(
        "--zookeeper",
        metavar="HOST:PORT",
        help="also measure this ZooKeeper through kazoo (e.g. from tools/zookeeper start)",
    )
    bench.add_argument(
        "--repetitions",
        type=_count(1),
        default=1000,
        metavar="N",
        help="timed calls per operation (or watch rounds) and system (default: 1000)",
    )
    bench.add_argument(
        "--warmup",
        type=_count(0),
        default=100,
        metavar="N",
        help="untimed calls per operation (or watch rounds) and system before those (default: 100)",
    )
    bench.add_argument(
        "--size", type=_count(0), default=100, metavar="BYTES", help="bytes of data in each node (default: 100)"
    )
    bench.add_argument("--json", metavar="OUT", help="write every figure, raw samples included, to this file")
    bench.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    bench.set_defaults(func=cmd_bench)


cli._EXTENSIONS.append(add_bench_parser)
