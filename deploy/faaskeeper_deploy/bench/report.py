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
    TOTAL,
    WATCH_WORKLOAD,
    BenchError,
    counted,
)
from faaskeeper_deploy.bench.stats import BenchResult


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
    else:
        text = (
            f"fk bench: {counted(repetitions, 'timed call')} per operation "
            f"after {counted(warmup, 'warm-up call')}, {size}"
        )
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


def write_json(result: BenchResult, path: Path) -> None:
    """Write every figure of ``result``, raw samples included, to ``path``."""
    try:
        path.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    except OSError as err:
        raise BenchError(f"Cannot write {path}: {err.strerror}") from err
