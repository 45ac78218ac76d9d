"""The ``fk bench`` command: its arguments, the suite it runs, what it prints and the files it writes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from faaskeeper_deploy.bench.common import DEFAULT_SIBLINGS, DEFAULT_SIZES, OPERATIONS_WORKLOAD, counted
from faaskeeper_deploy.bench.files import write_csv, write_suite_json
from faaskeeper_deploy.bench.mix import CONCURRENCY, THREADS
from faaskeeper_deploy.bench.progress import LineProgress, Progress, RichProgress
from faaskeeper_deploy.bench.report import format_durability, format_siblings, format_table
from faaskeeper_deploy.bench.run import run_bench
from faaskeeper_deploy.bench.suite import ALL, SERIES, Axes, Suite, plan, run_suite
from faaskeeper_deploy.config_file import load_config

#: Exit status of an interrupted run (128 + SIGINT), as a shell reports it.
INTERRUPTED = 130


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


def _counts(minimum: int) -> Callable[[str], tuple[int, ...]]:
    one = _count(minimum)

    def parse(text: str) -> tuple[int, ...]:
        values = tuple(one(part.strip()) for part in text.split(",") if part.strip())
        if not values:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of integers, got {text!r}")
        return values

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def _shares(text: str) -> tuple[float, ...]:
    values: list[float] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part[:-1]) / 100 if part.endswith("%") else float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a read share such as 0.9 or 90%, got {part!r}") from None
        if not 0 <= value <= 1:
            raise argparse.ArgumentTypeError(f"a read share is from 0 to 1 (0% to 100%), got {part!r}")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of read shares, got {text!r}")
    return tuple(values)


def _durabilities(text: str) -> tuple[str, ...]:
    from faaskeeper_local.storage.durability import MODES

    values = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [value for value in values if value not in MODES]
    if unknown or not values:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(MODES)}, got {', '.join(unknown) or repr(text)}"
        )
    return values


def _progress(args: argparse.Namespace) -> Progress:
    if args.quiet:
        return Progress()
    if sys.stderr.isatty():
        return RichProgress()
    return LineProgress(lambda line: print(f"fk bench: {line}", file=sys.stderr, flush=True), args.progress_every)


def _write_files(suite: Suite, args: argparse.Namespace) -> list[Path]:
    from faaskeeper_deploy.bench.plots import write_plots

    output = Path(args.output) if args.output else None
    json_path = Path(args.json) if args.json else (output / "bench.json" if output else None)
    csv_path = Path(args.csv) if args.csv else (output / "bench.csv" if output else None)
    plots = Path(args.plots) if args.plots else output
    written: list[Path] = []
    if json_path is not None:
        write_suite_json(suite, json_path)
        written.append(json_path)
    if csv_path is not None:
        write_csv(suite, csv_path)
        written.append(csv_path)
    if plots is not None and suite.runs:
        written += write_plots(suite, plots)
    return written


def cmd_bench(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config)) if args.config else None
    if config is not None and args.local_durability:
        print(
            "fk bench: error: --local-durability sets up the throwaway local deployment; a deployment given "
            "by --config keeps the durability it was deployed with",
            file=sys.stderr,
        )
        return 2
    axes = Axes(
        size=args.size,
        sizes=args.sizes,
        clients=args.clients,
        read_shares=args.read_shares,
        depths=args.depths,
        watchers=args.watchers,
        concurrency=args.concurrency,
        siblings=args.siblings,
        durabilities=args.local_durability or (),
    )
    runs = plan(args.workload or [OPERATIONS_WORKLOAD], axes)
    progress = _progress(args)
    try:
        suite = run_suite(
            runs,
            run_bench,
            config=config,
            zookeeper=args.zookeeper,
            repetitions=args.repetitions,
            warmup=args.warmup,
            progress=progress,
        )
    finally:
        progress.close()
    print("\n\n".join(format_table(run) for run in suite.runs))
    siblings = format_siblings(suite.runs)
    if siblings:
        print("\n" + siblings)
    durability = format_durability(suite.runs)
    if durability:
        print("\n" + durability)
    written = _write_files(suite, args)
    if written:
        print("\nwritten: " + ", ".join(str(path) for path in written))
    if suite.interrupted:
        partial = " (the last one partial)" if suite.runs and suite.runs[-1].settings.get("interrupted") else ""
        kept = f"kept {len(suite.runs)} of {counted(len(runs), 'run')}{partial}"
        print(f"\nfk bench: interrupted; {kept}", file=sys.stderr)
        return INTERRUPTED
    return 0


def register(commands: Any) -> None:
    """Add ``fk bench`` to the subcommands of ``fk``."""
    bench = commands.add_parser(
        "bench",
        help="time each operation on FaaSKeeper, next to Apache ZooKeeper",
        description=(
            "Time ZooKeeper operations call by call through the FaaSKeeper client, and with --zookeeper "
            "through kazoo against Apache ZooKeeper in the same run. Workloads: operations (each operation "
            "on its own), sizes (the operations at each of --sizes), watch (set_data here to a data watch's "
            "callback in another process), mix (--clients concurrent clients, --read-shares of their calls "
            "reads), pipeline (async get_data and set_data, --depths in flight), fanout (one set_data to "
            "--watchers watchers), recipes (kazoo's Lock and Election, through kazoo on both systems), siblings "
            "(create, get_children and delete of one node among each of --siblings children), all (every "
            "workload but siblings). "
            "Without --config, FaaSKeeper is a throwaway local deployment. "
            "Ctrl-C stops the run and keeps what was measured."
        ),
    )
    bench.add_argument(
        "--workload",
        action="append",
        choices=(*SERIES, ALL),
        metavar="WORKLOAD",
        help=f"one of {', '.join((*SERIES, ALL))}; repeat for several (default: operations)",
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
        help="timed calls per operation, watch round or mix client, and system (default: 1000)",
    )
    bench.add_argument(
        "--warmup",
        type=_count(0),
        default=100,
        metavar="N",
        help="untimed calls before those, per operation and system (default: 100)",
    )
    bench.add_argument(
        "--size", type=_count(0), default=100, metavar="BYTES", help="bytes of data in each node (default: 100)"
    )
    bench.add_argument(
        "--sizes",
        type=_counts(0),
        default=DEFAULT_SIZES,
        metavar="B,B,...",
        help="node sizes of the sizes workload (default: " + ",".join(map(str, DEFAULT_SIZES)) + ")",
    )
    bench.add_argument(
        "--clients", type=_counts(1), default=Axes().clients, metavar="N,N,...", help="clients of the mix (1,2,4,8)"
    )
    bench.add_argument(
        "--read-shares",
        type=_shares,
        default=Axes().read_shares,
        metavar="S,S,...",
        help="read shares of the mix, as 0.9 or 90%% (default: 0.5,0.9)",
    )
    bench.add_argument(
        "--concurrency",
        choices=CONCURRENCY,
        default=THREADS,
        help="the mix's clients as threads of this process or processes of their own (default: threads)",
    )
    bench.add_argument(
        "--depths", type=_counts(1), default=Axes().depths, metavar="N,N,...", help="requests in flight (1,16)"
    )
    bench.add_argument(
        "--watchers", type=_counts(1), default=Axes().watchers, metavar="N,N,...", help="fan-out watchers (1,8)"
    )
    bench.add_argument(
        "--siblings",
        type=_counts(1),
        default=DEFAULT_SIBLINGS,
        metavar="N,N,...",
        help="children of the parent in the siblings workload (default: " + ",".join(map(str, DEFAULT_SIBLINGS)) + ")",
    )
    bench.add_argument(
        "--local-durability",
        type=_durabilities,
        metavar="MODE,MODE",
        help="run each workload on a throwaway local deployment in each of these durability modes "
        "(normal, fsync), and print their medians side by side (default: one run, in the default mode)",
    )
    bench.add_argument(
        "--output", metavar="DIR", help="write bench.json, bench.csv and the PNG plots into this directory"
    )
    bench.add_argument("--json", metavar="OUT", help="write every figure, raw samples included, to this file")
    bench.add_argument("--csv", metavar="OUT", help="write one row per run, system and operation to this file")
    bench.add_argument("--plots", metavar="DIR", help="draw the PNG plots into this directory")
    bench.add_argument("--quiet", action="store_true", help="no progress on stderr")
    bench.add_argument(
        "--progress-every",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="when stderr is not a terminal, a line with the work done at most this often (default: 10)",
    )
    bench.set_defaults(func=cmd_bench)
