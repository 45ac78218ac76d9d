"""``fk bench`` on a tiny run against a temporary local deployment (no ZooKeeper)."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest

from faaskeeper.config import Config
from faaskeeper_deploy import cli
from faaskeeper_deploy.bench import (
    OPERATIONS,
    WATCH_OPERATIONS,
    BenchError,
    _Watcher,
    format_table,
    percentile,
    run_bench,
)


def _config(directory: Path) -> Config:
    return Config.deserialize(
        {"cloud-provider": "local", "deployment-name": "bench", "local": {"path": str(directory)}}
    )


def test_run_bench_measures_every_operation(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_bench(_config(tmp_path), repetitions=5, warmup=1, size=100, progress=lines.append)

    assert result.zookeeper is None
    assert result.ratios() == {}
    operations = result.faaskeeper.operations
    assert list(operations) == list(OPERATIONS)
    for op, summary in operations.items():
        assert summary.count == 5, op
        assert len(result.faaskeeper.samples_ns[op]) == 5, op
        assert all(s > 0 for s in result.faaskeeper.samples_ns[op]), op
        figures = (summary.min_ms, summary.median_ms, summary.mean_ms, summary.p99_ms, summary.max_ms)
        assert all(math.isfinite(x) and x > 0 for x in figures), (op, figures)
        assert summary.min_ms <= summary.median_ms <= summary.p99_ms <= summary.max_ms, (op, figures)
    assert len(lines) == len(OPERATIONS)

    table = format_table(result)
    for op in OPERATIONS:
        assert op in table
    assert json.loads(json.dumps(result.to_dict()))["systems"]["faaskeeper"]["operations"].keys() == set(OPERATIONS)


def test_fk_bench_command_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    code = cli.main(["bench", "--repetitions", "3", "--warmup", "0", "--size", "10", "--quiet", "--json", str(out)])

    assert code == 0
    printed = capsys.readouterr().out
    assert "create" in printed
    assert "delete" in printed
    document = json.loads(out.read_text())
    assert document["machine"]["cores"] >= 1
    assert document["interrupted"] is False
    (figures,) = document["runs"]
    assert figures["settings"]["repetitions"] == 3
    for op in OPERATIONS:
        assert figures["systems"]["faaskeeper"]["operations"][op]["median_ms"] > 0


def test_run_bench_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="repetitions"):
        run_bench(_config(tmp_path), repetitions=0)


def test_watch_workload_times_each_round_across_processes(tmp_path: Path) -> None:
    lines: list[str] = []
    started = time.monotonic()
    result = run_bench(_config(tmp_path), workload="watch", repetitions=5, warmup=1, progress=lines.append)

    assert time.monotonic() - started < 10
    assert result.zookeeper is None
    assert result.operations == WATCH_OPERATIONS
    fk = result.faaskeeper
    watcher = fk.description["watcher"]
    assert watcher["pid"] != os.getpid()
    assert watcher["session"] != fk.description["session"]
    assert watcher["clock"] == time.get_clock_info("perf_counter").implementation
    for op in WATCH_OPERATIONS:
        samples = fk.samples_ns[op]
        assert len(samples) == 5, op
        assert all(s > 0 for s in samples), (op, samples)
        # Positive, and from this run: not beyond the whole run's duration.
        assert all(s < 10e9 for s in samples), (op, samples)
    assert fk.operations["watch"].count == 5
    assert any("watch" in line for line in lines)

    table = format_table(result)
    assert "--workload watch" in table
    assert "\nwatch " in table
    assert "create" not in table
    figures = json.loads(json.dumps(result.to_dict()))
    assert figures["settings"]["workload"] == "watch"
    assert figures["systems"]["faaskeeper"]["operations"]["watch"]["median_ms"] > 0


def test_fk_bench_watch_command_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "watch.json"
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_config(tmp_path / "deployment").serialize()))
    code = cli.main(
        [
            *("bench", "--workload", "watch", "--config", str(config)),
            *("--repetitions", "3", "--warmup", "0", "--quiet", "--json", str(out)),
        ]
    )

    assert code == 0
    printed = capsys.readouterr().out
    assert "watch" in printed
    (figures,) = json.loads(out.read_text())["runs"]
    assert figures["settings"]["operations"] == list(WATCH_OPERATIONS)
    assert len(figures["systems"]["faaskeeper"]["samples_ns"]["watch"]) == 3
    assert figures["systems"]["faaskeeper"]["description"]["throwaway"] is False


def test_watcher_process_reports_its_failure() -> None:
    with pytest.raises(BenchError, match="unknown system"):
        _Watcher("nowhere", {"system": "nowhere", "path": "/x"})


def test_run_bench_rejects_unknown_workload(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="workload"):
        run_bench(_config(tmp_path), workload="nope")


def test_percentile_interpolates() -> None:
    values = [float(x) for x in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile([3.0], 0.99) == 3.0
