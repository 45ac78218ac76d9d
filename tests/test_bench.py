"""``fk bench`` on tiny runs against a temporary local deployment, and beside ZooKeeper when it is installed."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper_deploy import cli
from faaskeeper_deploy.bench import (
    OPERATIONS,
    WATCH_OPERATIONS,
    BenchError,
    format_table,
    percentile,
    run_bench,
)
from faaskeeper_deploy.bench.common import RECIPES_OPERATIONS, SIBLINGS_OPERATIONS
from faaskeeper_deploy.bench.files import CSV_COLUMNS
from faaskeeper_deploy.bench.memory import deployment_file_sizes, rss_bytes
from faaskeeper_deploy.bench.plots import write_plots
from faaskeeper_deploy.bench.progress import LineProgress, Progress
from faaskeeper_deploy.bench.report import format_durability, format_siblings
from faaskeeper_deploy.bench.stats import BenchResult, SystemResult
from faaskeeper_deploy.bench.suite import FORMAT, Axes, plan, run_suite
from faaskeeper_deploy.bench.watch import WatcherProcess


def _config(directory: Path) -> Config:
    config = Config.deserialize(
        {"cloud-provider": "local", "deployment-name": "bench", "local": {"path": str(directory)}}
    )
    return get_provider("local").deploy(config)


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
    run_ns = (time.monotonic() - started) * 1e9

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
        assert all(s < run_ns for s in samples), (op, samples, run_ns)
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
        WatcherProcess("nowhere", {"system": "nowhere", "path": "/x"})


def test_run_bench_rejects_unknown_workload(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="workload"):
        run_bench(_config(tmp_path), workload="nope")


def test_percentile_interpolates() -> None:
    values = [float(x) for x in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.99) == pytest.approx(99.01)
    assert percentile([3.0], 0.99) == 3.0


# -- the other workloads, the suite and its files ---------------------------------------------------


def test_mix_workload_counts_every_call_of_every_client(tmp_path: Path) -> None:
    result = run_bench(_config(tmp_path), workload="mix", repetitions=40, warmup=2, clients=3, read_share=0.5)

    fk = result.faaskeeper
    reads, writes = fk.samples_ns["get_data"], fk.samples_ns["set_data"]
    assert len(reads) + len(writes) == 3 * 40
    # Seeded per client: a 50% read share gives both kinds, never only one.
    assert reads
    assert writes
    assert result.settings["clients"] == 3
    assert result.settings["concurrency"] == "threads"
    assert fk.throughput["total"] == pytest.approx(fk.throughput["get_data"] + fk.throughput["set_data"])
    assert fk.throughput["total"] > 0
    table = format_table(result)
    assert "3 clients (threads), 50% reads" in table
    assert "ops/s" in table


def test_mix_workload_in_processes(tmp_path: Path) -> None:
    result = run_bench(
        _config(tmp_path), workload="mix", repetitions=10, warmup=1, clients=2, read_share=1.0, concurrency="processes"
    )

    fk = result.faaskeeper
    assert len(fk.samples_ns["get_data"]) == 2 * 10
    assert fk.samples_ns["set_data"] == []
    assert fk.throughput["get_data"] > 0


def test_pipeline_workload_keeps_depth_requests_in_flight(tmp_path: Path) -> None:
    result = run_bench(_config(tmp_path), workload="pipeline", repetitions=30, warmup=2, depth=8)

    fk = result.faaskeeper
    assert result.operations == ("get_data", "set_data")
    for op in result.operations:
        assert len(fk.samples_ns[op]) == 30, op
        assert fk.throughput[op] > 0, op
    assert result.settings["depth"] == 8


def test_fanout_workload_waits_for_every_watcher(tmp_path: Path) -> None:
    result = run_bench(_config(tmp_path), workload="fanout", repetitions=4, warmup=1, watchers=3)

    fk = result.faaskeeper
    assert len(fk.samples_ns["fanout_last"]) == 4
    assert len(fk.samples_ns["fanout_each"]) == 4 * 3
    # The last callback of a round comes no sooner than any callback of it.
    assert max(fk.samples_ns["fanout_last"]) >= min(fk.samples_ns["fanout_each"])
    assert fk.operations["fanout_last"].median_ms >= fk.operations["fanout_each"].median_ms


def test_recipes_workload_times_kazoos_lock_and_election_through_faaskeeper_kazoo(tmp_path: Path) -> None:
    result = run_bench(_config(tmp_path), workload="recipes", repetitions=6, warmup=1)

    fk = result.faaskeeper
    assert result.settings["operations"] == list(RECIPES_OPERATIONS)
    assert {op: len(samples) for op, samples in fk.samples_ns.items()} == dict.fromkeys(RECIPES_OPERATIONS, 6)
    assert all(sample > 0 for samples in fk.samples_ns.values() for sample in samples)
    table = format_table(result)
    assert "--workload recipes" in table
    assert all(op in table for op in RECIPES_OPERATIONS)


def test_plan_expands_each_series_over_its_axes() -> None:
    axes = Axes(size=10, sizes=(4, 256000), clients=(1, 2), read_shares=(0.5, 0.9), depths=(1,), watchers=(2, 4))
    runs = plan(["sizes", "mix", "pipeline", "fanout", "watch"], axes)

    assert [(r["series"], r["workload"]) for r in runs] == [
        ("sizes", "operations"),
        ("sizes", "operations"),
        *[("mix", "mix")] * 4,
        ("pipeline", "pipeline"),
        ("fanout", "fanout"),
        ("fanout", "fanout"),
        ("watch", "watch"),
    ]
    assert [r["size"] for r in runs[:2]] == [4, 256000]
    assert [(r["clients"], r["read_share"]) for r in runs[2:6]] == [(1, 0.5), (2, 0.5), (1, 0.9), (2, 0.9)]
    assert len(plan(["all"], axes)) == 1 + 2 + 1 + 4 + 1 + 2 + 1
    with pytest.raises(BenchError, match="workload must be one of"):
        plan(["nope"], axes)


def test_run_bench_rejects_bad_workload_settings(tmp_path: Path) -> None:
    for kwargs, message in (
        ({"workload": "mix", "clients": 0}, "clients"),
        ({"workload": "mix", "read_share": 1.5}, "read share"),
        ({"workload": "mix", "concurrency": "fibres"}, "concurrency"),
        ({"workload": "pipeline", "depth": 0}, "depth"),
        ({"workload": "fanout", "watchers": 0}, "watchers"),
    ):
        with pytest.raises(BenchError, match=message):
            run_bench(_config(tmp_path), **kwargs)


@pytest.mark.parametrize(
    ("argument", "message"),
    [("--read-shares=1.2", "from 0 to 1"), ("--read-shares=x", "read share"), ("--clients=0", "at least 1")],
)
def test_fk_bench_rejects_bad_lists(argument: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["bench", argument])
    assert message in capsys.readouterr().err


def _png(path: Path) -> None:
    assert path.stat().st_size > 1000, path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_fk_bench_all_writes_json_csv_and_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results"
    code = cli.main(
        [
            *("bench", "--workload", "all", "--repetitions", "3", "--warmup", "0", "--quiet"),
            *("--sizes", "4,256000", "--clients", "1,2", "--read-shares", "90%", "--depths", "2"),
            *("--watchers", "2", "--output", str(out)),
        ]
    )

    assert code == 0
    printed = capsys.readouterr().out
    assert "--workload mix: 2 clients" in printed
    assert "--workload mix: 1 client (threads)" in printed
    assert "--workload fanout: set_data to 2 watchers" in printed
    document = json.loads((out / "bench.json").read_text())
    assert document["format"] == FORMAT
    assert document["interrupted"] is False
    assert {"cores", "cpu", "platform", "python", "faaskeeper"} <= document["machine"].keys()
    series = [run["settings"]["series"] for run in document["runs"]]
    assert series == ["operations", "sizes", "sizes", "watch", "mix", "mix", "pipeline", "fanout", "recipes"]
    for run in document["runs"]:
        fk = run["systems"]["faaskeeper"]
        assert fk["description"]["provider"] == "local"
        recorded = fk["description"]["config"]
        assert recorded["local"] == {"path": fk["description"]["path"]}
        assert (recorded["user-storage"], recorded["client-channel"]) == ("persistent", "tcp")
        assert set(fk["operations"]) <= set(run["settings"]["operations"])
        if run["settings"]["workload"] != "mix":
            assert set(fk["operations"]) == set(run["settings"]["operations"])
    assert document["runs"][2]["settings"]["size"] == 256000

    with (out / "bench.csv").open(newline="") as stream:
        reader = csv.DictReader(stream)
        assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
        rows = list(reader)
    # One row per operation that has samples (a tiny 90% read mix may make no write at all).
    assert len(rows) == sum(len(run["systems"]["faaskeeper"]["operations"]) for run in document["runs"])
    big = [r for r in rows if r["series"] == "sizes" and r["size"] == "256000"]
    assert {r["operation"] for r in big} == set(OPERATIONS)
    mix = [r for r in rows if r["workload"] == "mix" and r["clients"] == "2"]
    assert "get_data" in {r["operation"] for r in mix}
    assert all(float(r["total_throughput_ops_s"]) > 0 and r["read_share"] == "0.9" for r in mix)
    for row in rows:
        assert row["provider"] == "local"
        assert (row["deployment"], row["user_storage"], row["client_channel"]) == ("bench", "persistent", "tcp")
        assert float(row["heartbeat_frequency"]) == 5.0
        assert json.loads(row["provider_settings"]).keys() == {"path"}
        assert row["git_commit"] == (document["machine"]["git_commit"] or "")
        assert row["faaskeeper_version"] == document["machine"]["faaskeeper"]
        assert float(row["median_ms"]) > 0
        assert int(row["count"]) >= 3

    for name in ("latency-distribution.png", "latency-vs-size.png", "throughput-vs-clients.png"):
        _png(out / name)


def test_plots_are_drawn_only_for_the_series_run(tmp_path: Path) -> None:
    suite = run_suite(
        plan(["operations"], Axes()),
        run_bench,
        config=_config(tmp_path / "deployment"),
        zookeeper=None,
        repetitions=3,
        warmup=0,
        progress=Progress(),
    )
    written = write_plots(suite, tmp_path / "plots")

    assert [p.name for p in written] == ["latency-distribution.png"]
    _png(written[0])


def _run_until_measured(args: list[str], tmp_path: Path) -> subprocess.Popen[str]:
    """``fk bench ARGS`` in a process group of its own, once its progress shows timed calls done."""
    process = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_deploy", *args, "--progress-every", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        start_new_session=True,
    )
    assert process.stderr is not None
    for text in process.stderr:
        done = re.search(r": (\d+) of \d+ done$", text.strip())
        if done and int(done.group(1)) > 0:
            return process
    process.kill()
    raise AssertionError(f"fk bench ended before it measured anything: {process.communicate()}")


_MIX_IN_PROCESSES = ["--workload", "mix", "--clients", "2", "--read-shares", "1", "--concurrency", "processes"]


@pytest.mark.parametrize(
    ("workload", "operation", "group", "signals"),
    [
        (["--workload", "operations"], "create", False, 1),
        (_MIX_IN_PROCESSES, "get_data", True, 1),
        (["--workload", "watch"], "watch", True, 1),
        # As `timeout -s INT` without --foreground: to the bench, then to its process group.
        (["--workload", "watch"], "watch", True, 2),
        (["--workload", "fanout", "--watchers", "2"], "fanout_last", False, 2),
    ],
    ids=["operations", "mix-processes-group", "watch-group", "watch-twice", "fanout-twice"],
)
def test_interrupt_keeps_what_was_measured(
    workload: list[str], operation: str, group: bool, signals: int, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    process = _run_until_measured(
        ["bench", *workload, "--repetitions", "1000000", "--warmup", "0", "--output", str(out)], tmp_path
    )
    for _ in range(signals):
        if group:  # as Ctrl-C at a terminal: the bench and its client or watcher processes alike
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stderr
    assert "interrupted; kept 1 of 1 run" in stderr
    assert "Traceback" not in stderr
    assert "TimeoutException" not in stderr
    assert "INTERRUPTED" in stdout
    document = json.loads((out / "bench.json").read_text())
    assert document["interrupted"] is True
    (run,) = document["runs"]
    assert run["settings"]["interrupted"] is True
    samples = run["systems"]["faaskeeper"]["samples_ns"][operation]
    assert 0 < len(samples) < 1000000
    with (out / "bench.csv").open(newline="") as stream:
        rows = [r for r in csv.DictReader(stream) if r["operation"] == operation]
    assert rows
    assert rows[0]["interrupted"] == "True"
    assert int(rows[0]["count"]) == len(samples)
    if operation != "fanout_last":  # fan-out has no plot of its own
        _png(out / ("throughput-vs-clients.png" if operation == "get_data" else "latency-distribution.png"))


def test_line_progress_reports_the_work_done_at_most_every_interval() -> None:
    lines: list[str] = []
    progress = LineProgress(lines.append, every=0)
    progress.phase("measuring create", 100)
    progress.advance(50)
    progress.advance(50)
    quiet = LineProgress(lines.append, every=3600)
    quiet.phase("measuring delete", 10)
    quiet.advance(10)

    assert lines == [
        "measuring create",
        "measuring create: 50 of 100 done",
        "measuring create: 100 of 100 done",
        "measuring delete",
    ]


# -- against a real ZooKeeper (tools/zookeeper) -------------------------------------------------------

_ZOOKEEPER_SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "zookeeper"


@pytest.fixture(scope="module")
def zookeeper() -> Iterator[str]:
    """The hosts of a running ZooKeeper: one ``tools/zookeeper start`` left running, or one started here.

    Skipped when ZooKeeper is not installed (``tools/zookeeper start`` installs it; it needs root)."""
    status = subprocess.run([str(_ZOOKEEPER_SCRIPT), "status"], capture_output=True, text=True, check=False)
    if status.returncode == 0:
        yield status.stdout.strip()
        return
    if not (Path("/usr/share/java/zookeeper.jar").exists() and shutil.which("java")):
        pytest.skip("ZooKeeper is not installed: run tools/zookeeper start once")
    started = subprocess.run([str(_ZOOKEEPER_SCRIPT), "start"], capture_output=True, text=True, check=False)
    if started.returncode != 0:
        pytest.fail(f"tools/zookeeper start failed: {started.stderr}")
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(_ZOOKEEPER_SCRIPT), "stop"], capture_output=True, check=False)


@pytest.mark.parametrize(
    ("workload", "kwargs"),
    [
        ("operations", {"size": 256000}),
        ("mix", {"clients": 2, "read_share": 0.5}),
        ("pipeline", {"depth": 4}),
        ("fanout", {"watchers": 2}),
        ("recipes", {}),
    ],
)
def test_workloads_run_side_by_side_with_zookeeper(
    workload: str, kwargs: dict[str, Any], zookeeper: str, tmp_path: Path
) -> None:
    result = run_bench(_config(tmp_path), zookeeper=zookeeper, workload=workload, repetitions=6, warmup=1, **kwargs)

    zk = result.zookeeper
    assert zk is not None
    assert zk.description["hosts"] == zookeeper
    assert zk.operations
    fk_ops, zk_ops = result.faaskeeper.operations, zk.operations
    assert set(result.ratios()) == set(fk_ops) & set(zk_ops)
    for op, ratio in result.ratios().items():
        assert ratio["median"] == pytest.approx(fk_ops[op].median_ms / zk_ops[op].median_ms), op
    if workload in ("mix", "pipeline"):
        assert zk.throughput["total"] > 0
    table = format_table(result)
    assert f"zookeeper:  {zookeeper}" in table


def test_ctrl_c_is_deferred_to_the_next_check_and_a_second_one_interrupts() -> None:
    from faaskeeper_deploy.bench import interrupt as bench_interrupt

    before = signal.getsignal(signal.SIGINT)
    with bench_interrupt.deferred():
        with bench_interrupt.deferred():  # nested: the outer block's handler and request stay
            signal.raise_signal(signal.SIGINT)
            assert bench_interrupt.requested()
        assert bench_interrupt.requested()
        assert not bench_interrupt.abandoned()
        with pytest.raises(KeyboardInterrupt):
            bench_interrupt.check()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        assert bench_interrupt.abandoned()
    assert signal.getsignal(signal.SIGINT) is before
    with bench_interrupt.deferred():
        assert not bench_interrupt.requested()
        assert not bench_interrupt.abandoned()


# -- a second Ctrl-C: the cleanup on the systems is skipped, what was measured is kept ----------------


class _CtrlCAfter(Progress):
    """Presses Ctrl-C (SIGINT to this process) ``presses`` times in a row once the first block of
    timed calls is done; a second press interrupts there and then, as in the middle of a call."""

    def __init__(self, presses: int = 1) -> None:
        self.presses = presses

    def advance(self, count: int = 1) -> None:
        while count and self.presses > 0:
            self.presses -= 1
            signal.raise_signal(signal.SIGINT)


def _ctrl_c_in_remove_tree(monkeypatch: pytest.MonkeyPatch, presses: int) -> list[str]:
    """Make ``FaaSKeeperSystem.remove_tree`` press Ctrl-C ``presses`` times as it begins; the paths it was called on."""
    from faaskeeper_deploy.bench.systems import FaaSKeeperSystem

    called: list[str] = []
    remove_tree = FaaSKeeperSystem.remove_tree

    def pressing(self: FaaSKeeperSystem, path: str) -> None:
        called.append(path)
        for _ in range(presses):
            signal.raise_signal(signal.SIGINT)
        remove_tree(self, path)

    monkeypatch.setattr(FaaSKeeperSystem, "remove_tree", pressing)
    return called


def _stop_timeouts(monkeypatch: pytest.MonkeyPatch) -> list[float | None]:
    """Record the ``timeout`` of every FaaSKeeperClient.stop."""
    from faaskeeper.client import FaaSKeeperClient

    timeouts: list[float | None] = []
    stop = FaaSKeeperClient.stop

    def recording(self: FaaSKeeperClient, timeout: float | None = None) -> None:
        timeouts.append(timeout)
        stop(self, timeout)

    monkeypatch.setattr(FaaSKeeperClient, "stop", recording)
    return timeouts


def _bench_roots(config: Config) -> list[str]:
    from faaskeeper.client import FaaSKeeperClient

    with FaaSKeeperClient(config) as client:
        return [node.path for node in client.get_children("/") if node.path.startswith("/fk-bench-")]


def test_second_ctrl_c_during_cleanup_skips_the_rest_and_keeps_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = _config(tmp_path)
    removed = _ctrl_c_in_remove_tree(monkeypatch, presses=1)
    timeouts = _stop_timeouts(monkeypatch)

    with caplog.at_level("WARNING", logger="faaskeeper_deploy.bench"):
        result = run_bench(config, repetitions=200, warmup=0, progress=_CtrlCAfter())

    assert result.settings["interrupted"] is True
    samples = result.faaskeeper.samples_ns["create"]
    assert 0 < len(samples) < 200
    (root,) = removed
    # The tree's removal was cut short and the session released without awaiting the service.
    assert timeouts == [0]
    assert _bench_roots(config) == [root]
    assert f"faaskeeper: left {root} in place" in caplog.text


def test_second_ctrl_c_during_a_call_skips_the_cleanup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    removed = _ctrl_c_in_remove_tree(monkeypatch, presses=0)
    timeouts = _stop_timeouts(monkeypatch)

    result = run_bench(config, repetitions=200, warmup=0, progress=_CtrlCAfter(presses=2))

    assert result.settings["interrupted"] is True
    assert 0 < len(result.faaskeeper.samples_ns["create"]) < 200
    assert removed == []
    assert timeouts == [0]
    assert len(_bench_roots(config)) == 1


def test_fk_bench_writes_the_run_a_second_ctrl_c_in_cleanup_cut_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps(_config(tmp_path / "deployment").serialize()))
    _ctrl_c_in_remove_tree(monkeypatch, presses=2)
    out = tmp_path / "results"

    code = cli.main(
        ["bench", "--config", str(config), "--repetitions", "3", "--warmup", "0", "--quiet", "--output", str(out)]
    )

    assert code == 130
    assert "interrupted; kept 1 of 1 run" in capsys.readouterr().err
    document = json.loads((out / "bench.json").read_text())
    assert document["interrupted"] is True
    (run,) = document["runs"]
    assert run["settings"]["interrupted"] is True
    assert len(run["systems"]["faaskeeper"]["samples_ns"]["delete"]) == 3
    with (out / "bench.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert {r["operation"] for r in rows} == set(OPERATIONS)
    assert all(r["interrupted"] == "True" for r in rows)


# -- the siblings workload and its memory figures ---------------------------------------------------


def test_siblings_workload_times_each_operation_among_n_siblings_and_cleans_up(tmp_path: Path) -> None:
    config = _config(tmp_path)
    lines: list[str] = []
    result = run_bench(config, workload="siblings", siblings=25, repetitions=4, warmup=1, progress=lines.append)

    fk = result.faaskeeper
    assert result.operations == SIBLINGS_OPERATIONS
    assert result.settings["siblings"] == 25
    assert {op: len(samples) for op, samples in fk.samples_ns.items()} == dict.fromkeys(SIBLINGS_OPERATIONS, 4)
    assert all(sample > 0 for samples in fk.samples_ns.values() for sample in samples)
    assert any("with 25 siblings" in line for line in lines)
    # A deployment given by its config keeps no node of the run, its 25 siblings included.
    assert _bench_roots(config) == []
    memory = fk.memory
    assert memory.keys() == {"rss_bytes", "rss_growth_bytes", "deployment_file_bytes", "wal_bytes"}
    assert memory["rss_bytes"] > 0
    assert memory["deployment_file_bytes"] > 0
    assert json.loads(json.dumps(result.to_dict()))["systems"]["faaskeeper"]["memory"] == memory
    table = format_table(result)
    assert "--workload siblings: create, get_children and delete among 25 siblings" in table
    assert "faaskeeper: RSS " in table
    assert "deployment file " in table


def test_deployment_file_sizes_are_those_of_the_sqlite_file_and_its_wal(tmp_path: Path) -> None:
    config = _config(tmp_path)
    directory = tmp_path / "bench"

    sizes = deployment_file_sizes(config)

    assert sizes == {
        "deployment_file_bytes": (directory / "faaskeeper.sqlite3").stat().st_size,
        "wal_bytes": (directory / "faaskeeper.sqlite3-wal").stat().st_size
        if (directory / "faaskeeper.sqlite3-wal").exists()
        else 0,
    }
    assert sizes["deployment_file_bytes"] > 0
    other = Config.deserialize({"cloud-provider": "memory", "deployment-name": "bench"})
    assert deployment_file_sizes(other) == {}


def test_rss_counts_memory_this_process_touches() -> None:
    before = rss_bytes()
    held = b"\x01" * (64 * 2**20)
    after = rss_bytes()

    assert held[-1] == 1
    assert after - before >= 48 * 2**20


def test_fk_bench_siblings_prints_each_median_against_the_fewest_siblings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.csv"
    code = cli.main(
        [
            *("bench", "--workload", "siblings", "--siblings", "12,3,12", "--repetitions", "3", "--warmup", "0"),
            *("--quiet", "--csv", str(out)),
        ]
    )

    assert code == 0
    printed = capsys.readouterr().out
    assert "medians (ms), and each against the same among 3 (target: at most 1.50x)" in printed
    summary = printed[printed.index("medians (ms), and each against") :]
    rows = [line.split() for line in summary.splitlines() if line.split()[:1] == ["create"]]
    assert [row[1] for row in rows] == ["3", "12"]
    assert rows[0][3] == "1.00x"
    assert float(rows[1][3].rstrip("x")) == pytest.approx(float(rows[1][2]) / float(rows[0][2]), abs=0.01)
    with out.open(newline="") as stream:
        written = list(csv.DictReader(stream))
    # Once per number of siblings (12 is not run twice), three operations each.
    assert sorted((r["siblings"], r["operation"]) for r in written) == sorted(
        (n, op) for n in ("3", "12") for op in SIBLINGS_OPERATIONS
    )
    for row in written:
        assert int(row["rss_bytes"]) > 0
        assert int(row["deployment_file_bytes"]) > 0
        assert row["wal_bytes"] != ""


def test_siblings_summary_divides_each_median_by_the_one_among_the_fewest() -> None:
    def run(siblings: int, create_ms: float, zk_create_ms: float) -> BenchResult:
        def system(name: str, ms: float) -> SystemResult:
            samples = {"create": [int(ms * 1e6)] * 3, "get_children": [1_000_000] * 3, "delete": [2_000_000] * 3}
            return SystemResult(name, {}, samples, memory={"rss_bytes": siblings * 2**20})

        settings = {"workload": "siblings", "siblings": siblings, "operations": list(SIBLINGS_OPERATIONS)}
        return BenchResult(
            {},
            settings,
            {"faaskeeper": system("faaskeeper", create_ms), "zookeeper": system("zookeeper", zk_create_ms)},
        )

    text = format_siblings([run(1000, 6.0, 1.0), run(10, 2.0, 0.5)])

    lines = [line.split() for line in text.splitlines()]
    assert ["create", "10", "2.000", "1.00x", "0.500", "1.00x", "4.00x"] in lines
    assert ["create", "1000", "6.000", "3.00x", "1.000", "2.00x", "6.00x"] in lines
    assert ["delete", "1000", "2.000", "1.00x", "2.000", "1.00x", "1.00x"] in lines
    assert ["1000", "1000.0", "-", "-", "1000.0"] in lines
    assert format_siblings([]) == ""


def test_plan_runs_siblings_once_per_number_and_all_leaves_it_out() -> None:
    runs = plan(["siblings"], Axes(siblings=(10, 100, 10)))

    assert [(r["workload"], r["siblings"]) for r in runs] == [("siblings", 10), ("siblings", 100)]
    assert "siblings" not in {r["workload"] for r in plan(["all"], Axes())}


def test_siblings_rejects_fewer_than_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(BenchError, match="siblings must be at least 1"):
        run_bench(_config(tmp_path), workload="siblings", siblings=0)
    with pytest.raises(SystemExit):
        cli.main(["bench", "--siblings", "10,0"])
    assert "at least 1" in capsys.readouterr().err


def test_siblings_beside_zookeeper_removes_its_siblings_there(zookeeper: str, tmp_path: Path) -> None:
    from kazoo.client import KazooClient

    result = run_bench(
        _config(tmp_path), zookeeper=zookeeper, workload="siblings", siblings=40, repetitions=3, warmup=1
    )

    zk = result.zookeeper
    assert zk is not None
    assert {op: len(samples) for op, samples in zk.samples_ns.items()} == dict.fromkeys(SIBLINGS_OPERATIONS, 3)
    assert zk.memory["rss_bytes"] > 0
    assert "deployment_file_bytes" not in zk.memory
    assert set(result.ratios()) == set(SIBLINGS_OPERATIONS)
    client = KazooClient(hosts=zookeeper)
    client.start(timeout=10)
    try:
        assert not [name for name in client.get_children("/") if name.startswith("fk-bench-")]
    finally:
        client.stop()
        client.close()


def test_plan_runs_each_workload_once_in_each_durability_mode() -> None:
    runs = plan(["operations", "watch"], Axes(durabilities=("normal", "fsync")))

    assert [(r["workload"], r["durability"]) for r in runs] == [
        ("operations", "normal"),
        ("operations", "fsync"),
        ("watch", "normal"),
        ("watch", "fsync"),
    ]
    assert all("durability" not in r for r in plan(["operations"], Axes()))


def test_run_bench_deploys_the_throwaway_local_deployment_in_the_mode_asked(tmp_path: Path) -> None:
    result = run_bench(repetitions=2, warmup=0, durability="fsync")

    assert result.settings["durability"] == "fsync"
    assert result.faaskeeper.description["config"]["local"]["durability"] == "fsync"
    assert "local durability fsync" in format_table(result)
    with pytest.raises(BenchError, match="durability mode is for the throwaway local deployment"):
        run_bench(_config(tmp_path), repetitions=2, warmup=0, durability="fsync")


def test_durability_summary_puts_each_modes_medians_beside_zookeepers_in_the_same_run() -> None:
    def run(mode: str, create_ms: float, zk_create_ms: float) -> BenchResult:
        def system(name: str, ms: float) -> SystemResult:
            return SystemResult(name, {}, {op: [int(ms * 1e6)] * 3 for op in OPERATIONS})

        settings = {"workload": "operations", "repetitions": 3, "warmup": 0, "size": 100, "durability": mode}
        settings["operations"] = list(OPERATIONS)
        systems = {"faaskeeper": system("faaskeeper", create_ms), "zookeeper": system("zookeeper", zk_create_ms)}
        return BenchResult({}, settings, systems)

    text = format_durability([run("normal", 1.0, 0.5), run("fsync", 3.0, 0.6)])

    lines = [line.split() for line in text.splitlines()]
    assert ["operation", "normal", "ZooKeeper", "ratio", "fsync", "ZooKeeper", "ratio"] in lines
    assert ["create", "1.000", "0.500", "2.00x", "3.000", "0.600", "5.00x"] in lines
    assert format_durability([run("normal", 1.0, 0.5)]) == ""


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--local-durability", "normal,paranoid"], "expected a comma-separated list of normal, fsync, got paranoid"),
        (["--local-durability", ","], "expected a comma-separated list of normal, fsync"),
    ],
)
def test_fk_bench_rejects_unknown_durability_modes(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["bench", *arguments])
    assert message in capsys.readouterr().err


def test_fk_bench_refuses_a_durability_mode_for_a_deployment_given_by_its_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "fk.json"
    config.write_text(json.dumps(_config(tmp_path).serialize()))

    assert cli.main(["bench", "--config", str(config), "--local-durability", "fsync", "--quiet"]) == 2
    assert "keeps the durability it was deployed with" in capsys.readouterr().err
