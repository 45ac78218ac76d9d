"""The files of ``fk bench``: the JSON document of a suite (raw samples included) and its CSV summary.

The CSV has one row per run, system and operation, with the run's configuration, the system's
provider, the deployment's configuration (FaaSKeeper rows) and versions, and the machine, so that
rows from different runs and machines can be concatenated and compared (:data:`CSV_COLUMNS`).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from faaskeeper_deploy.bench.common import TOTAL, ZOOKEEPER, BenchError
from faaskeeper_deploy.bench.suite import FORMAT, Suite

#: Columns of the CSV file, in order.
CSV_COLUMNS: tuple[str, ...] = (
    "format",
    "started",
    "run",
    "series",
    "workload",
    "interrupted",
    "system",
    "provider",
    "deployment",
    "region",
    "user_storage",
    "worker_queue",
    "distributor_queue",
    "client_channel",
    "heartbeat_frequency",
    "provider_settings",
    "system_version",
    "faaskeeper_version",
    "git_commit",
    "size",
    "repetitions",
    "warmup",
    "clients",
    "concurrency",
    "read_share",
    "depth",
    "watchers",
    "siblings",
    "operation",
    "count",
    "median_ms",
    "p99_ms",
    "mean_ms",
    "min_ms",
    "max_ms",
    "throughput_ops_s",
    "total_throughput_ops_s",
    "ratio_median",
    "rss_bytes",
    "rss_growth_bytes",
    "deployment_file_bytes",
    "wal_bytes",
    "cores",
    "cpu",
    "platform",
    "python",
)


#: The columns of a FaaSKeeper deployment's configuration, and the config keys they show.
_CONFIG_COLUMNS: dict[str, str] = {
    "region": "deployment-region",
    "user_storage": "user-storage",
    "worker_queue": "worker-queue",
    "distributor_queue": "distributor-queue",
    "client_channel": "client-channel",
    "heartbeat_frequency": "heartbeat-frequency",
}


#: The memory figures of a system (siblings workload), each a column of its own.
_MEMORY_COLUMNS = ("rss_bytes", "rss_growth_bytes", "deployment_file_bytes", "wal_bytes")


def _system_columns(name: str, description: dict[str, Any], machine: dict[str, Any]) -> dict[str, Any]:
    """The columns that describe one system of a run: its provider, configuration and version.

    A config that leaves the queues to the provider has them empty; ``provider_settings`` is the
    provider's section of the config as compact JSON."""
    if name == ZOOKEEPER:
        return {"provider": "zookeeper", "system_version": description.get("server") or ""}
    config = description.get("config", {})
    provider = description.get("provider", "")
    return {
        "provider": provider,
        "deployment": description.get("deployment", ""),
        **{column: config.get(key, "") for column, key in _CONFIG_COLUMNS.items()},
        "provider_settings": json.dumps(config.get(provider, {}), sort_keys=True, separators=(",", ":")),
        "system_version": machine.get("faaskeeper", ""),
    }


def csv_rows(suite: Suite) -> list[dict[str, Any]]:
    """The rows of the CSV file of ``suite``, as dictionaries keyed by :data:`CSV_COLUMNS`."""
    m = suite.machine
    rows: list[dict[str, Any]] = []
    for index, run in enumerate(suite.runs):
        s = run.settings
        ratios = run.ratios()
        for name, system in run.systems.items():
            summaries = system.operations
            for op in run.operations:
                summary = summaries.get(op)
                if summary is None:
                    continue
                row: dict[str, Any] = {
                    "format": FORMAT,
                    "started": suite.started,
                    "run": index,
                    "series": s.get("series", s["workload"]),
                    "workload": s["workload"],
                    "interrupted": bool(s.get("interrupted")),
                    "system": name,
                    **_system_columns(name, system.description, m),
                    "faaskeeper_version": m.get("faaskeeper", ""),
                    "git_commit": m.get("git_commit") or "",
                    **{key: s.get(key, "") for key in ("size", "repetitions", "warmup", "clients", "concurrency")},
                    **{key: s.get(key, "") for key in ("read_share", "depth", "watchers", "siblings")},
                    "operation": op,
                    **summary.to_dict(),
                    "throughput_ops_s": system.throughput.get(op, ""),
                    "total_throughput_ops_s": system.throughput.get(TOTAL, ""),
                    "ratio_median": ratios[op]["median"] if op in ratios and name != ZOOKEEPER else "",
                    **{key: system.memory.get(key, "") for key in _MEMORY_COLUMNS},
                    "cores": m.get("cores", ""),
                    "cpu": m.get("cpu") or "",
                    "platform": m.get("platform", ""),
                    "python": m.get("python", ""),
                }
                rows.append(row)
    return rows


def csv_text(suite: Suite) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(suite))
    return buffer.getvalue()


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    except OSError as err:
        raise BenchError(f"Cannot write {path}: {err.strerror}") from err


def write_suite_json(suite: Suite, path: Path) -> None:
    """Write every figure of ``suite``, raw samples included, to ``path``."""
    _write(path, json.dumps(suite.to_dict(), indent=2) + "\n")


def write_csv(suite: Suite, path: Path) -> None:
    """Write one row per run, system and operation of ``suite`` to ``path``."""
    _write(path, csv_text(suite))
