"""The output of ``fk bench``: the table it prints and the JSON file of every figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faaskeeper_deploy.bench.common import (
    FANOUT_WORKLOAD,
    MIX_WORKLOAD,
    PIPELINE_WORKLOAD,
    RECIPES_WORKLOAD,
    SIBLINGS_OPERATIONS,
    SIBLINGS_TARGET,
    SIBLINGS_WORKLOAD,
    TOTAL,
    WATCH_WORKLOAD,
    BenchError,
    counted,
)
from faaskeeper_deploy.bench.stats import BenchResult, SystemResult


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _title(s: dict[str, Any]) -> str:
    """The first line of a run's table: its workload and configuration."""
    workload = s.get("workload")
    size = f"{s['size']}-byte values"
    repetitions, warmup = s["repetitions"], s["warmup"]
    if workload == WATCH_WORKLOAD:
        text = (
            f"fk bench --workload watch: {counted(repetitions, 'timed round')} "
            f"after {counted(warmup, 'warm-up round')}, {size}"
        )
    elif workload == MIX_WORKLOAD:
        text = (
            f"fk bench --workload mix: {counted(s['clients'], 'client')} ({s['concurrency']}), "
            f"{s['read_share']:.0%} reads, {counted(repetitions, 'timed call')} each "
            f"after {counted(warmup, 'warm-up call')}, {size}"
        )
    elif workload == PIPELINE_WORKLOAD:
        text = (
            f"fk bench --workload pipeline: {s['depth']} in flight, {counted(repetitions, 'timed call')} "
            f"per operation after {counted(warmup, 'warm-up call')}, {size}"
        )
    elif workload == FANOUT_WORKLOAD:
        text = (
            f"fk bench --workload fanout: set_data to {counted(s['watchers'], 'watcher')}, "
            f"{counted(repetitions, 'timed round')} after {counted(warmup, 'warm-up round')}, {size}"
        )
    elif workload == RECIPES_WORKLOAD:
        text = (
            f"fk bench --workload recipes: kazoo's Lock and Election, {counted(repetitions, 'timed round')} "
            f"after {counted(warmup, 'warm-up round')}"
        )
    elif workload == SIBLINGS_WORKLOAD:
        text = (
            f"fk bench --workload siblings: create, get_children and delete among "
            f"{counted(s['siblings'], 'sibling')}, {counted(repetitions, 'timed round')} "
            f"after {counted(warmup, 'warm-up round')}, {size}"
        )
    else:
        text = (
            f"fk bench: {counted(repetitions, 'timed call')} per operation "
            f"after {counted(warmup, 'warm-up call')}, {size}"
        )
    if s.get("durability"):
        text += f", local durability {s['durability']}"
    return text + (" (INTERRUPTED: partial)" if s.get("interrupted") else "")


def _ops(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_table(result: BenchResult) -> str:
    m, s = result.machine, result.settings
    fk, zk = result.faaskeeper, result.zookeeper
    title = _title(s)
    lines = [
        title,
        f"machine:    {counted(m['cores'], 'core')} ({m['usable_cores']} usable), {m['cpu'] or 'unknown CPU'}, "
        f"{m['platform']}",
        f"python:     {m['python']}" + (f", load average {m['load_average']}" if "load_average" in m else ""),
        "faaskeeper: {version}, {provider} provider, deployment {deployment!r}{where}".format(
            version=m.get("faaskeeper", "version unknown"),
            where=f" (throwaway in {fk.description['path']})" if fk.description.get("throwaway") else "",
            **fk.description,
        ),
    ]
    if zk is not None:
        server = zk.description.get("server") or "version unknown"
        lines.append(f"zookeeper:  {zk.description['hosts']} (server {server}; kazoo {zk.description['kazoo']})")
    else:
        lines.append("zookeeper:  not measured (pass --zookeeper HOST:PORT)")
    if s.get("workload") == RECIPES_WORKLOAD:
        lines += [
            "recipes:    through kazoo on both systems (faaskeeper.kazoo on FaaSKeeper); lock_acquire and "
            "lock_release of a free Lock,",
            "            election_round from the leader's resigning to the next contender leading",
        ]
    if s.get("workload") == SIBLINGS_WORKLOAD:
        lines += _memory_lines(result)
    if s.get("workload") == WATCH_WORKLOAD:
        lines += [
            f"watch:      set_data called here to the watch's callback in a watcher process ({s['clock']})",
            "set_data:   the setter's own set_data call in the same rounds",
        ]
    lines.append("")
    head = f"{'':<14}{'FaaSKeeper (ms)':^20}  {'ZooKeeper (ms)':^20}  {'FaaSKeeper/ZooKeeper':^20}"
    sub = f"{'operation':<14}" + f"{'median':>10}{'p99':>10}  " * 3
    lines += [head, sub.rstrip(), "-" * len(head)]
    fk_ops = fk.operations
    zk_ops = zk.operations if zk is not None else {}
    ratios = result.ratios()
    fk_rate, zk_rate = fk.throughput, zk.throughput if zk is not None else {}
    if fk_rate:
        lines[-3] += f"  {'ops/s':^20}"
        lines[-2] += f"  {'FaaSKeeper':>10}{'ZooKeeper':>10}"
        lines[-1] += "-" * 22
    for op in (*result.operations, TOTAL) if fk_rate else result.operations:
        f, z, r = fk_ops.get(op), zk_ops.get(op), ratios.get(op)
        line = (
            f"{op:<14}"
            f"{_ms(f.median_ms if f else None):>10}{_ms(f.p99_ms if f else None):>10}  "
            f"{_ms(z.median_ms if z else None):>10}{_ms(z.p99_ms if z else None):>10}  "
            f"{_ratio(r['median'] if r else None):>10}{_ratio(r['p99'] if r else None):>10}"
        )
        if fk_rate:
            line += f"  {_ops(fk_rate.get(op)):>10}{_ops(zk_rate.get(op)):>10}"
        lines.append(line)
    return "\n".join(lines)


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / 2**20:.1f}"


def _memory_lines(result: BenchResult) -> list[str]:
    """What the siblings workload measured of memory, a line per system."""
    lines = []
    for name, system in result.systems.items():
        m = system.memory
        if not m:
            continue
        text = f"{name + ':':<12}RSS {_mib(m.get('rss_bytes'))} MiB after the fill (+{_mib(m.get('rss_growth_bytes'))})"
        if "deployment_file_bytes" in m:
            text += (
                f", deployment file {_mib(m['deployment_file_bytes'])} MiB and its WAL {_mib(m.get('wal_bytes'))} MiB"
            )
        lines.append(text)
    return lines


def _median(system: SystemResult | None, op: str) -> float | None:
    if system is None:
        return None
    summary = system.operations.get(op)
    return summary.median_ms if summary is not None else None


def _over(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None or base <= 0 else value / base


def format_siblings(runs: list[BenchResult]) -> str:
    """The siblings runs of a suite side by side: each operation's median at each number of
    siblings, on each system, and its ratio to the same among the fewest siblings (the target is
    :data:`~faaskeeper_deploy.bench.common.SIBLINGS_TARGET`); then the memory after each fill.
    Empty when the suite ran no siblings workload."""
    series = sorted((r for r in runs if r.settings.get("workload") == SIBLINGS_WORKLOAD), key=_siblings)
    if not series:
        return ""
    fewest = _siblings(series[0])
    lines = [
        f"fk bench --workload siblings: medians (ms), and each against the same among {fewest} "
        f"(target: at most {SIBLINGS_TARGET:.2f}x)",
        "",
        f"{'operation':<14}{'siblings':>9}  {'FaaSKeeper':>10}{f'vs {fewest}':>9}  "
        f"{'ZooKeeper':>10}{f'vs {fewest}':>9}  {'FaaSKeeper/ZooKeeper':>20}",
    ]
    lines.append("-" * len(lines[-1]))
    for op in SIBLINGS_OPERATIONS:
        fk_base, zk_base = _median(series[0].faaskeeper, op), _median(series[0].zookeeper, op)
        for run in series:
            fk, zk = _median(run.faaskeeper, op), _median(run.zookeeper, op)
            lines.append(
                f"{op:<14}{_siblings(run):>9}  {_ms(fk):>10}{_ratio(_over(fk, fk_base)):>9}  "
                f"{_ms(zk):>10}{_ratio(_over(zk, zk_base)):>9}  {_ratio(_over(fk, zk)):>20}"
            )
    lines += [
        "",
        "memory after the fill (MiB): RSS of the bench process (its clients, and the local provider's functions)",
        f"{'siblings':>9}  {'RSS, FaaSKeeper filled':>22}  {'deployment file':>15}  {'WAL':>8}  "
        f"{'RSS, ZooKeeper filled':>21}",
    ]
    for run in series:
        fk_memory = run.faaskeeper.memory
        zk_memory = run.zookeeper.memory if run.zookeeper is not None else {}
        lines.append(
            f"{_siblings(run):>9}  {_mib(fk_memory.get('rss_bytes')):>22}  "
            f"{_mib(fk_memory.get('deployment_file_bytes')):>15}  {_mib(fk_memory.get('wal_bytes')):>8}  "
            f"{_mib(zk_memory.get('rss_bytes')):>21}"
        )
    return "\n".join(lines)


#: What differs between the runs of one workload that ``--local-durability`` repeats in each mode.
_PER_RUN = frozenset({"durability", "interrupted"})


def format_durability(runs: list[BenchResult]) -> str:
    """The runs that ``--local-durability`` repeated in each mode side by side: each operation's
    median on the local provider in each mode, and ZooKeeper's in the same run. Empty unless the
    suite ran a workload in more than one mode."""
    groups: dict[str, list[BenchResult]] = {}
    for run in runs:
        if run.settings.get("durability"):
            key = json.dumps({k: v for k, v in run.settings.items() if k not in _PER_RUN}, sort_keys=True)
            groups.setdefault(key, []).append(run)
    groups = {key: group for key, group in groups.items() if len(group) > 1}
    if not groups:
        return ""
    modes = list(dict.fromkeys(run.settings["durability"] for group in groups.values() for run in group))
    head = f"{'operation':<14}" + "".join(f"{mode:>10}{'ZooKeeper':>11}{'ratio':>8}" for mode in modes)
    lines = [
        "fk bench --local-durability: medians (ms), the local provider in each mode beside ZooKeeper in the same run"
    ]
    for group in groups.values():
        by_mode = {run.settings["durability"]: run for run in group}
        lines += ["", _title({k: v for k, v in group[0].settings.items() if k not in _PER_RUN}), head]
        lines.append("-" * len(head))
        for op in group[0].operations:
            line = f"{op:<14}"
            for mode in modes:
                measured = by_mode.get(mode)
                fk = _median(measured.faaskeeper, op) if measured is not None else None
                zk = _median(measured.zookeeper, op) if measured is not None else None
                line += f"{_ms(fk):>10}{_ms(zk):>11}{_ratio(_over(fk, zk)):>8}"
            lines.append(line)
    return "\n".join(lines)


def _siblings(run: BenchResult) -> int:
    count: int = run.settings["siblings"]
    return count


def write_json(result: BenchResult, path: Path) -> None:
    """Write every figure of ``result``, raw samples included, to ``path``."""
    try:
        path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    except OSError as err:
        raise BenchError(f"Cannot write {path}: {err.strerror}") from err
