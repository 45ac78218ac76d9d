"""A suite of ``fk bench`` runs: the workloads asked for, each over its configurations, one after another.

``sizes`` is the operations workload at each node size; ``mix`` runs for every number of clients
and read share; ``pipeline`` for every depth; ``fanout`` for every number of watchers;
``siblings`` for every number of siblings; ``all`` is every one of them but ``siblings`` (whose
default series fills a parent with 100,000 children). Each run is a
:func:`~faaskeeper_deploy.bench.run_bench` of its own (a fresh throwaway deployment unless a
config is given). An interrupted run ends the suite: the runs before it and what it measured are
kept, and the suite says it was interrupted.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from faaskeeper.config import Config
from faaskeeper_deploy.bench.common import (
    DEFAULT_SIBLINGS,
    DEFAULT_SIZES,
    FANOUT_WORKLOAD,
    MIX_WORKLOAD,
    OPERATIONS_WORKLOAD,
    PIPELINE_WORKLOAD,
    RECIPES_WORKLOAD,
    SIBLINGS_WORKLOAD,
    WATCH_WORKLOAD,
    WORKLOADS,
    BenchError,
)
from faaskeeper_deploy.bench.interrupt import deferred as deferred_interrupt
from faaskeeper_deploy.bench.interrupt import requested as interrupt_requested
from faaskeeper_deploy.bench.progress import Progress
from faaskeeper_deploy.bench.stats import BenchResult, machine_info

#: The operations workload at each of ``--sizes``.
SIZES_SERIES = "sizes"
#: Every series.
ALL = "all"
SERIES: tuple[str, ...] = (*WORKLOADS[:1], SIZES_SERIES, *WORKLOADS[1:])
#: The order ``all`` runs them in (all but ``siblings``, which takes long at its default numbers).
ALL_SERIES: tuple[str, ...] = (
    OPERATIONS_WORKLOAD,
    SIZES_SERIES,
    WATCH_WORKLOAD,
    MIX_WORKLOAD,
    PIPELINE_WORKLOAD,
    FANOUT_WORKLOAD,
    RECIPES_WORKLOAD,
)
#: Version of the layout of the JSON document and the CSV file.
FORMAT = "faaskeeper-bench/4"


@dataclass(frozen=True)
class Axes:
    """The values each series runs over."""

    size: int = 100
    sizes: tuple[int, ...] = DEFAULT_SIZES
    clients: tuple[int, ...] = (1, 2, 4, 8)
    read_shares: tuple[float, ...] = (0.5, 0.9)
    depths: tuple[int, ...] = (1, 16)
    watchers: tuple[int, ...] = (1, 8)
    concurrency: str = "threads"
    siblings: tuple[int, ...] = DEFAULT_SIBLINGS
    #: Durability modes of the throwaway local deployment: each run once in each, one after the
    #: other; empty, once in the default mode.
    durabilities: tuple[str, ...] = ()


def plan(series: Sequence[str], axes: Axes) -> list[dict[str, Any]]:
    """The runs of ``series`` (names of :data:`SERIES`, or ``all``): keyword arguments of ``run_bench``."""
    names: list[str] = []
    for name in series:
        if name == ALL:
            names.extend(ALL_SERIES)
        elif name in SERIES:
            names.append(name)
        else:
            raise BenchError(f"workload must be one of {', '.join((*SERIES, ALL))}, got {name!r}")
    runs: list[dict[str, Any]] = []
    for name in dict.fromkeys(names):
        base = {"series": name, "size": axes.size}
        if name == SIZES_SERIES:
            runs += [{**base, "workload": OPERATIONS_WORKLOAD, "size": size} for size in axes.sizes]
        elif name == MIX_WORKLOAD:
            runs += [
                {**base, "workload": name, "clients": n, "read_share": share, "concurrency": axes.concurrency}
                for share in axes.read_shares
                for n in axes.clients
            ]
        elif name == PIPELINE_WORKLOAD:
            runs += [{**base, "workload": name, "depth": depth} for depth in axes.depths]
        elif name == FANOUT_WORKLOAD:
            runs += [{**base, "workload": name, "watchers": n} for n in axes.watchers]
        elif name == SIBLINGS_WORKLOAD:
            runs += [{**base, "workload": name, "siblings": n} for n in dict.fromkeys(axes.siblings)]
        else:
            runs.append({**base, "workload": name})
    if axes.durabilities:
        runs = [{**run, "durability": mode} for run in runs for mode in axes.durabilities]
    return runs


@dataclass
class Suite:
    """The runs of one ``fk bench`` command, and the machine they ran on."""

    machine: dict[str, Any]
    started: str
    runs: list[BenchResult] = field(default_factory=list)
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "started": self.started,
            "interrupted": self.interrupted,
            "machine": self.machine,
            "runs": [run.to_dict() for run in self.runs],
        }


def run_suite(
    runs: Sequence[dict[str, Any]],
    run: Callable[..., BenchResult],
    *,
    config: Config | None,
    zookeeper: str | None,
    repetitions: int,
    warmup: int,
    progress: Progress,
) -> Suite:
    """Run each of ``runs`` through ``run`` (:func:`~faaskeeper_deploy.bench.run_bench`), in order.

    Stops at the first interrupted run, or after the run in progress when Ctrl-C came while it
    connected or cleaned up; a second Ctrl-C ends the suite at once, with the runs finished before
    and what the run in progress measured (nothing, if it came before that run connected)."""
    suite = Suite(machine_info(), datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    try:
        with deferred_interrupt():
            for arguments in runs:
                kwargs = {k: v for k, v in arguments.items() if k != "series"}
                result = run(
                    config, zookeeper=zookeeper, repetitions=repetitions, warmup=warmup, progress=progress, **kwargs
                )
                result.settings["series"] = arguments["series"]
                suite.runs.append(result)
                if result.settings.get("interrupted") or interrupt_requested():
                    suite.interrupted = True
                    break
    except KeyboardInterrupt:  # a second Ctrl-C, or one where no run was measuring
        suite.interrupted = True
    return suite
