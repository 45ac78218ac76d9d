"""One run of ``fk bench``: one workload, in one configuration, on FaaSKeeper and ZooKeeper alike.

The workloads are in their own modules (``operations``, ``watch``, ``mix``, ``pipeline``,
``fanout``); :func:`run_bench` connects the systems, runs one of them and cleans up. Without a
config, FaaSKeeper is a throwaway local deployment in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper_deploy.bench.common import (
    BLOCK,
    CHILDREN,
    FANOUT_OPERATIONS,
    FANOUT_WORKLOAD,
    MIX_OPERATIONS,
    MIX_WORKLOAD,
    OPERATIONS,
    OPERATIONS_WORKLOAD,
    PIPELINE_WORKLOAD,
    RECIPES_OPERATIONS,
    RECIPES_WORKLOAD,
    SIBLINGS_OPERATIONS,
    SIBLINGS_WORKLOAD,
    WATCH_OPERATIONS,
    WATCH_WORKLOAD,
    WORKLOADS,
    BenchError,
)
from faaskeeper_deploy.bench.emulated import emulated_functions
from faaskeeper_deploy.bench.fanout import run_fanout
from faaskeeper_deploy.bench.interrupt import abandoned
from faaskeeper_deploy.bench.interrupt import check as check_interrupt
from faaskeeper_deploy.bench.interrupt import deferred as deferred_interrupt
from faaskeeper_deploy.bench.mix import CONCURRENCY, THREADS, run_mix
from faaskeeper_deploy.bench.operations import run_operations
from faaskeeper_deploy.bench.pipeline import run_pipeline
from faaskeeper_deploy.bench.progress import Progress, as_progress
from faaskeeper_deploy.bench.provenance import recorded_config
from faaskeeper_deploy.bench.recipes import run_recipes
from faaskeeper_deploy.bench.siblings import run_siblings
from faaskeeper_deploy.bench.stats import BenchResult, SystemResult, machine_info
from faaskeeper_deploy.bench.systems import FaaSKeeperSystem, System, ZooKeeperSystem, quietly
from faaskeeper_deploy.bench.watch import run_watch, watcher_spec


@contextmanager
def _throwaway_local(durability: str | None) -> Iterator[tuple[Config, dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="fk-bench-") as directory:
        section = {"path": directory, **({"durability": durability} if durability else {})}
        config = get_provider("local").deploy(
            Config.deserialize({"cloud-provider": "local", "deployment-name": "bench", "local": section})
        )
        yield config, {"provider": "local", "deployment": "bench", "throwaway": True, "path": directory}


def run_bench(
    config: Config | None = None,
    *,
    zookeeper: str | None = None,
    repetitions: int = 1000,
    warmup: int = 100,
    size: int = 100,
    progress: Progress | Callable[[str], None] | None = None,
    workload: str = OPERATIONS_WORKLOAD,
    clients: int = 4,
    read_share: float = 0.9,
    concurrency: str = THREADS,
    depth: int = 16,
    watchers: int = 8,
    siblings: int = 10,
    durability: str | None = None,
) -> BenchResult:
    """Time each operation ``repetitions`` times on FaaSKeeper (and ZooKeeper, given its hosts).

    With ``workload="watch"``, time ``repetitions`` rounds of a data watch in another process
    instead: from ``set_data`` called here to the watch's callback in a watcher process. With
    ``"mix"``, ``clients`` concurrent clients make ``repetitions`` calls each, ``read_share`` of them
    reads; with ``"pipeline"``, ``repetitions`` async get_data and set_data calls, ``depth`` in
    flight; with ``"fanout"``, ``repetitions`` rounds of one set_data to ``watchers`` watchers; with
    ``"recipes"``, ``repetitions`` acquires and releases of kazoo's Lock and handovers of its Election,
    through kazoo on both systems (:mod:`~faaskeeper_deploy.bench.recipes`); with ``"siblings"``,
    ``repetitions`` rounds of a create, the parent's get_children and a delete among ``siblings``
    children (:mod:`~faaskeeper_deploy.bench.siblings`), with the process's resident set and the
    local deployment's file size after the fill in each system's ``memory``.

    Interrupted (Ctrl-C, or KeyboardInterrupt), the run stops after the call in progress, cleans
    up and returns what it measured with ``settings["interrupted"]`` true. A second Ctrl-C stops
    it at once, skips the cleanup on the systems and still returns what it measured
    (:mod:`~faaskeeper_deploy.bench.interrupt`).

    :param config: client config of the FaaSKeeper deployment; None makes a throwaway local one
    :param zookeeper: kazoo hosts string (``HOST:PORT``) of the ZooKeeper to compare with
    :param repetitions: timed calls per operation (or watch rounds) and system
    :param warmup: untimed calls per operation (or watch rounds) and system before the timed ones
    :param size: bytes of each node's data
    :param progress: receives the phases of the run (a function receives a line per phase)
    :param workload: one of :data:`WORKLOADS`
    :param concurrency: ``"threads"`` or ``"processes"``: how the mix's clients run
    :param siblings: children of the parent that the siblings workload creates and deletes among
    :param durability: ``local.durability`` of the throwaway local deployment (without ``config``)
    """
    _check_settings(workload, repetitions, warmup, size, clients, read_share, concurrency, depth, watchers, siblings)
    shown = as_progress(progress)
    value = os.urandom(size)
    if durability is not None and config is not None:
        raise BenchError("a durability mode is for the throwaway local deployment, not one given by its config")
    settings = _settings(
        workload, repetitions, warmup, size, clients, read_share, concurrency, depth, watchers, siblings
    )
    if durability is not None:
        settings["durability"] = durability
    machine = machine_info()
    systems: list[System] = []
    errors: tuple[type[BaseException], ...] = ()
    # Ctrl-C stops the workload between calls and the cleanup below runs whole; a second Ctrl-C
    # stops at once and skips the cleanup on the systems (bench.interrupt).
    try:
        with deferred_interrupt(), ExitStack() as stack:
            if config is None:
                config, description = stack.enter_context(_throwaway_local(durability))
            else:
                description = {
                    "provider": config.cloud_provider,
                    "deployment": config.deployment_name,
                    "throwaway": False,
                }
                description.update(stack.enter_context(emulated_functions(config)))
            description["config"] = recorded_config(config)
            root = f"/fk-bench-{uuid.uuid4().hex[:12]}"
            fk = FaaSKeeperSystem(config, description)
            stack.callback(quietly, fk, fk.close)
            systems.append(fk)
            if zookeeper is not None:
                zk = ZooKeeperSystem(zookeeper)
                stack.callback(quietly, zk, zk.close)
                systems.append(zk)
                errors = zk.errors
            specs = {system.name: watcher_spec(system, config, root) for system in systems}
            try:
                check_interrupt()  # a Ctrl-C while the systems connected
                if workload == WATCH_WORKLOAD:
                    run_watch(stack, systems, config, root, value, repetitions, warmup, shown)
                elif workload == MIX_WORKLOAD:
                    run_mix(
                        stack, systems, specs, root, value, repetitions, warmup, clients, read_share, concurrency, shown
                    )
                elif workload == PIPELINE_WORKLOAD:
                    run_pipeline(stack, systems, root, value, repetitions, warmup, depth, shown)
                elif workload == FANOUT_WORKLOAD:
                    run_fanout(stack, systems, specs, root, value, repetitions, warmup, watchers, shown)
                elif workload == RECIPES_WORKLOAD:
                    run_recipes(stack, systems, root, repetitions, warmup, shown)
                elif workload == SIBLINGS_WORKLOAD:
                    run_siblings(stack, systems, root, value, repetitions, warmup, siblings, shown)
                else:
                    run_operations(stack, systems, root, value, repetitions, warmup, shown)
            except KeyboardInterrupt:
                settings["interrupted"] = True
                shown.phase(
                    "interrupted twice: skipping the cleanup"
                    if abandoned()
                    else "interrupted: cleaning up (Ctrl-C again skips it)"
                )
    except KeyboardInterrupt:
        # A second Ctrl-C during the cleanup, which skipped the rest of it: keep what was measured.
        if not systems:
            raise
        settings["interrupted"] = True
    except errors as err:
        raise BenchError(f"zookeeper: {type(err).__name__}: {err}") from err
    return BenchResult(
        machine=machine,
        settings=settings,
        systems={s.name: SystemResult(s.name, s.description, s.samples, s.throughput, s.memory) for s in systems},
    )


def _check_settings(
    workload: str,
    repetitions: int,
    warmup: int,
    size: int,
    clients: int,
    read_share: float,
    concurrency: str,
    depth: int,
    watchers: int,
    siblings: int,
) -> None:
    if workload not in WORKLOADS:
        raise BenchError(f"workload must be one of {', '.join(WORKLOADS)}, got {workload!r}")
    if repetitions < 1:
        raise BenchError(f"repetitions must be at least 1, got {repetitions}")
    if warmup < 0:
        raise BenchError(f"warmup must be at least 0, got {warmup}")
    if size < 0:
        raise BenchError(f"size must be at least 0, got {size}")
    if clients < 1:
        raise BenchError(f"clients must be at least 1, got {clients}")
    if not 0 <= read_share <= 1:
        raise BenchError(f"read share must be from 0 to 1, got {read_share}")
    if concurrency not in CONCURRENCY:
        raise BenchError(f"concurrency must be one of {', '.join(CONCURRENCY)}, got {concurrency!r}")
    if depth < 1:
        raise BenchError(f"pipeline depth must be at least 1, got {depth}")
    if watchers < 1:
        raise BenchError(f"watchers must be at least 1, got {watchers}")
    if siblings < 1:
        raise BenchError(f"siblings must be at least 1, got {siblings}")


def _settings(
    workload: str,
    repetitions: int,
    warmup: int,
    size: int,
    clients: int,
    read_share: float,
    concurrency: str,
    depth: int,
    watchers: int,
    siblings: int,
) -> dict[str, Any]:
    """What a run was configured with, as its JSON and CSV record it."""
    operations = {
        WATCH_WORKLOAD: WATCH_OPERATIONS,
        MIX_WORKLOAD: MIX_OPERATIONS,
        PIPELINE_WORKLOAD: MIX_OPERATIONS,
        FANOUT_WORKLOAD: FANOUT_OPERATIONS,
        RECIPES_WORKLOAD: RECIPES_OPERATIONS,
        SIBLINGS_WORKLOAD: SIBLINGS_OPERATIONS,
    }.get(workload, OPERATIONS)
    settings: dict[str, Any] = {
        "workload": workload,
        "repetitions": repetitions,
        "warmup": warmup,
        "size": size,
        "block": BLOCK,
        "operations": list(operations),
        "interrupted": False,
    }
    if workload == OPERATIONS_WORKLOAD:
        settings["children"] = CHILDREN
    elif workload == WATCH_WORKLOAD:
        settings["clock"] = time.get_clock_info("perf_counter").implementation
    elif workload == MIX_WORKLOAD:
        settings.update(clients=clients, read_share=read_share, concurrency=concurrency)
    elif workload == PIPELINE_WORKLOAD:
        settings["depth"] = depth
    elif workload == FANOUT_WORKLOAD:
        settings["watchers"] = watchers
    elif workload == SIBLINGS_WORKLOAD:
        settings["siblings"] = siblings
    return settings
