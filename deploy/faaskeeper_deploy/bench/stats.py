"""The figures of ``fk bench``: percentiles, per-operation summaries, results and the machine they ran on."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faaskeeper_deploy.bench.common import FAASKEEPER, OPERATIONS, ZOOKEEPER
from faaskeeper_deploy.bench.provenance import code_version


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of sorted values, interpolating linearly between ranks."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """Latency figures of one operation on one system, in milliseconds."""

    count: int
    median_ms: float
    p99_ms: float
    mean_ms: float
    min_ms: float
    max_ms: float

    @staticmethod
    def of(samples_ns: Sequence[int]) -> Summary:
        values = sorted(s / 1e6 for s in samples_ns)
        return Summary(
            count=len(values),
            median_ms=percentile(values, 0.5),
            p99_ms=percentile(values, 0.99),
            mean_ms=sum(values) / len(values),
            min_ms=values[0],
            max_ms=values[-1],
        )

    def to_dict(self) -> dict[str, float | int]:
        return {
            "count": self.count,
            "median_ms": self.median_ms,
            "p99_ms": self.p99_ms,
            "mean_ms": self.mean_ms,
            "min_ms": self.min_ms,
            "max_ms": self.max_ms,
        }


@dataclass
class SystemResult:
    """All figures of one system: its description, a summary per operation and the raw samples."""

    name: str
    description: dict[str, Any]
    samples_ns: dict[str, list[int]] = field(default_factory=dict)
    #: Operations per second, per operation and ``"total"``, of the workloads that measure it.
    throughput: dict[str, float] = field(default_factory=dict)
    #: Bytes: the process's resident set after filling the siblings workload's parent, and on the
    #: local provider the deployment's file and write-ahead log (:mod:`~faaskeeper_deploy.bench.memory`).
    memory: dict[str, int] = field(default_factory=dict)

    @property
    def operations(self) -> dict[str, Summary]:
        return {op: Summary.of(samples) for op, samples in self.samples_ns.items() if samples}

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "operations": {op: s.to_dict() for op, s in self.operations.items()},
            "throughput_ops_s": self.throughput,
            "memory": self.memory,
            "samples_ns": self.samples_ns,
        }


@dataclass
class BenchResult:
    machine: dict[str, Any]
    settings: dict[str, Any]
    systems: dict[str, SystemResult]

    @property
    def faaskeeper(self) -> SystemResult:
        return self.systems[FAASKEEPER]

    @property
    def zookeeper(self) -> SystemResult | None:
        return self.systems.get(ZOOKEEPER)

    @property
    def operations(self) -> tuple[str, ...]:
        """The rows of this result, in order (the workload's operations)."""
        return tuple(self.settings.get("operations", OPERATIONS))

    def ratios(self) -> dict[str, dict[str, float]]:
        """FaaSKeeper / ZooKeeper per operation, of the medians and of the p99s (empty without ZooKeeper)."""
        if self.zookeeper is None:
            return {}
        fk, zk = self.faaskeeper.operations, self.zookeeper.operations
        return {
            op: {"median": fk[op].median_ms / zk[op].median_ms, "p99": fk[op].p99_ms / zk[op].p99_ms}
            for op in self.operations
            if op in fk and op in zk
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "settings": self.settings,
            "systems": {name: system.to_dict() for name, system in self.systems.items()},
            "ratios": self.ratios(),
        }


def machine_info() -> dict[str, Any]:
    """What the figures depend on: cores, CPU, OS, Python, load, and the FaaSKeeper code (its
    version, and its git commit when run from a checkout: :func:`~.provenance.code_version`)."""
    info: dict[str, Any] = {
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        **code_version(),
    }
    if hasattr(os, "getloadavg"):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def _cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or None
