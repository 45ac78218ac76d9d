"""What ``fk bench`` records beside its figures (the code's version, the deployment's configuration,
ZooKeeper's version), how it words its counts, and how its line plots tell their series apart."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import faaskeeper
from faaskeeper.config import Config
from faaskeeper_deploy.bench import plots as bench_plots
from faaskeeper_deploy.bench.common import FAASKEEPER, MIX_OPERATIONS, OPERATIONS, ZOOKEEPER, counted
from faaskeeper_deploy.bench.files import CSV_COLUMNS, csv_rows
from faaskeeper_deploy.bench.provenance import REDACTED, code_version, recorded_config, zookeeper_version
from faaskeeper_deploy.bench.report import format_table
from faaskeeper_deploy.bench.stats import BenchResult, SystemResult, machine_info
from faaskeeper_deploy.bench.suite import Suite

# -- the code's version --------------------------------------------------------------------------------


@pytest.fixture
def fresh_version() -> Iterator[None]:
    code_version.cache_clear()
    yield
    code_version.cache_clear()


def _git(directory: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", "-C", str(directory), *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_version: None) -> Path:
    """A git checkout holding a committed package that stands in for ``faaskeeper``."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    package = tmp_path / "repo" / "faaskeeper"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('__version__ = "9.9.9"\n')
    _git(package.parent, "init", "-q")
    _git(package.parent, "add", ".")
    _git(package.parent, "commit", "-q", "-m", "first")
    monkeypatch.setattr(faaskeeper, "__file__", str(package / "__init__.py"))
    return package


def test_version_names_the_commit_of_a_checkout(checkout: Path) -> None:
    commit = _git(checkout.parent, "rev-parse", "HEAD")
    (checkout.parent / "untracked.txt").write_text("not part of the code\n")

    version = code_version()

    assert version["git_commit"] == commit
    assert version["git_dirty"] is False
    assert version["faaskeeper_package"] == faaskeeper.__version__
    assert version["faaskeeper"] == f"{faaskeeper.__version__}+g{commit[:12]}"


def test_version_says_dirty_when_tracked_files_changed(checkout: Path) -> None:
    (checkout / "__init__.py").write_text('__version__ = "9.9.10"\n')

    version = code_version()

    assert version["git_dirty"] is True
    assert version["faaskeeper"].endswith(".dirty")
    assert machine_info()["faaskeeper"] == version["faaskeeper"]


def test_version_without_git_is_the_package_version(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(checkout / "no-programs-here"))

    version = code_version()

    assert version == {
        "faaskeeper": faaskeeper.__version__,
        "faaskeeper_package": faaskeeper.__version__,
        "git_commit": None,
        "git_dirty": None,
    }


def test_an_untracked_copy_inside_a_checkout_is_not_that_checkout(
    checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installed = checkout.parent / ".venv" / "site-packages" / "faaskeeper"
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text('__version__ = "9.9.9"\n')
    monkeypatch.setattr(faaskeeper, "__file__", str(installed / "__init__.py"))

    assert code_version()["git_commit"] is None


# -- the deployment's configuration --------------------------------------------------------------------


def test_recorded_config_has_the_settings_in_effect_and_no_secrets() -> None:
    config = Config.deserialize(
        {
            "cloud-provider": "aws",
            "deployment-name": "demo",
            "deployment-region": "us-east-1",
            "worker-queue": "sqs",
            "distributor-queue": "sqs",
            "client-channel": "sqs",
            "aws": {
                "endpoint-url": "http://user:hunter2@127.0.0.1:5000",
                "function-memory": 1024,
                "secret-access-key": "hunter2",
                "nested": {"session_token": "hunter2", "access-key-id": "AKIA..."},
            },
        }
    )

    recorded = recorded_config(config)

    assert "hunter2" not in json.dumps(recorded)
    assert "AKIA" not in json.dumps(recorded)
    section = recorded["aws"]
    assert section["endpoint-url"] == f"http://user:{REDACTED}@127.0.0.1:5000"
    assert section["function-memory"] == 1024
    assert section["secret-access-key"] == REDACTED
    assert section["nested"] == {"session_token": REDACTED, "access-key-id": REDACTED}
    # Defaults the config left out are recorded as in effect.
    assert recorded["heartbeat-frequency"] == 5.0
    assert recorded["user-storage"] == "hybrid"  # the AWS default
    assert config.provider_section["secret-access-key"] == "hunter2"  # the config itself is untouched


def test_csv_rows_carry_the_deployments_configuration() -> None:
    config = recorded_config(
        Config.deserialize(
            {
                "cloud-provider": "gcp",
                "deployment-name": "demo",
                "deployment-region": "us-central1",
                "user-storage": "key-value",
                "worker-queue": "pubsub",
                "client-channel": "pubsub",
                "heartbeat-frequency": 2,
                "gcp": {"project": "p", "functions-endpoint": "http://127.0.0.1:18080"},
            }
        )
    )
    fk = {"provider": "gcp", "deployment": "demo", "throwaway": False, "config": config}
    zk = {"hosts": "127.0.0.1:2181", "server": "3.8.0", "server_built": None, "kazoo": "2.11.0"}
    settings = {"workload": "operations", "size": 4, "repetitions": 1, "warmup": 0, "operations": ["get_data"]}
    suite = _suite([_result(settings, {FAASKEEPER: fk, ZOOKEEPER: zk}, {"get_data": [1_000_000]})])

    by_system = {row["system"]: row for row in csv_rows(suite)}

    assert set(by_system[FAASKEEPER]) <= set(CSV_COLUMNS)
    fk_row = by_system[FAASKEEPER]
    assert (fk_row["provider"], fk_row["deployment"], fk_row["region"]) == ("gcp", "demo", "us-central1")
    assert (fk_row["user_storage"], fk_row["worker_queue"], fk_row["client_channel"]) == (
        "key-value",
        "pubsub",
        "pubsub",
    )
    assert fk_row["distributor_queue"] == ""  # left to the provider
    assert fk_row["heartbeat_frequency"] == 2
    assert json.loads(fk_row["provider_settings"]) == {"project": "p", "functions-endpoint": "http://127.0.0.1:18080"}
    assert fk_row["system_version"] == fk_row["faaskeeper_version"] == suite.machine["faaskeeper"]
    zk_row = by_system[ZOOKEEPER]
    assert (zk_row["provider"], zk_row["system_version"], zk_row.get("region", "")) == ("zookeeper", "3.8.0", "")


# -- ZooKeeper's version -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("srvr", "version", "built"),
    [
        (" 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC", "3.8.0", "2024-12-29 17:54 UTC"),
        (
            " 3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f, built on 2022-02-25 08:49 UTC",
            "3.8.0-5a02a05eddb59aee6ac762f7ea82e92a68eb9c0f",
            "2022-02-25 08:49 UTC",
        ),
        ("3.9.2", "3.9.2", None),
    ],
)
def test_zookeeper_version_drops_an_unexpanded_placeholder(srvr: str, version: str, built: str | None) -> None:
    assert zookeeper_version(srvr) == (version, built)


# -- counts in words -----------------------------------------------------------------------------------


def test_counts_are_singular_for_one() -> None:
    assert counted(1, "client") == "1 client"
    assert counted(0, "client") == "0 clients"
    assert counted(8, "watch", "watches") == "8 watches"
    assert counted(1, "warm-up call") == "1 warm-up call"


@pytest.mark.parametrize(
    ("settings", "title"),
    [
        (
            {"workload": "mix", "clients": 1, "concurrency": "threads", "read_share": 0.9},
            "fk bench --workload mix: 1 client (threads), 90% reads, 1 timed call each after 1 warm-up call",
        ),
        (
            {"workload": "fanout", "watchers": 1},
            "fk bench --workload fanout: set_data to 1 watcher, 1 timed round after 1 warm-up round",
        ),
        ({"workload": "watch"}, "fk bench --workload watch: 1 timed round after 1 warm-up round"),
        ({"workload": "operations"}, "fk bench: 1 timed call per operation after 1 warm-up call"),
    ],
)
def test_tables_say_one_client_one_watcher_one_call(settings: dict[str, Any], title: str) -> None:
    settings = {**settings, "repetitions": 1, "warmup": 1, "size": 1, "operations": ["get_data"], "clock": "x"}
    result = _result(settings, {FAASKEEPER: {"provider": "local", "deployment": "bench"}}, {"get_data": [1]})
    result.machine = {**result.machine, "cores": 1, "usable_cores": 1}

    table = format_table(result)

    assert table.splitlines()[0] == f"{title}, 1-byte values"
    assert "machine:    1 core (1 usable)" in table


# -- the line plots ------------------------------------------------------------------------------------


def _result(settings: dict[str, Any], systems: dict[str, dict[str, Any]], samples: dict[str, list[int]]) -> BenchResult:
    return BenchResult(
        machine=machine_info(),
        settings=settings,
        systems={name: SystemResult(name, description, dict(samples)) for name, description in systems.items()},
    )


def _suite(runs: list[BenchResult]) -> Suite:
    return Suite(machine_info(), "2025-01-01T00:00:00+00:00", runs)


_BOTH = {FAASKEEPER: {"provider": "local"}, ZOOKEEPER: {"hosts": "127.0.0.1:2181"}}


class _KeptFigures:
    """matplotlib.pyplot, except that closing a figure keeps it for the test to look at."""

    def __init__(self) -> None:
        self._plt = bench_plots._pyplot()
        self.figures: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._plt, name)

    def close(self, figure: Any) -> None:
        self.figures.append(figure)


@pytest.fixture
def kept() -> Iterator[_KeptFigures]:
    plt = _KeptFigures()
    yield plt
    for figure in plt.figures:
        plt._plt.close(figure)


def _drawn(axes: Any) -> list[tuple[str, str, str]]:
    """Colour, line style and marker of each line that holds data."""
    from matplotlib.colors import to_hex

    return [
        (to_hex(line.get_color()), line.get_linestyle(), line.get_marker())
        for line in axes.get_lines()
        if len(line.get_xdata())
    ]


def _legends(axes: Any) -> dict[str, list[str]]:
    legends = [child for child in axes.get_children() if child.__class__.__name__ == "Legend"]
    return {legend.get_title().get_text(): [text.get_text() for text in legend.get_texts()] for legend in legends}


def test_latency_vs_size_gives_every_operation_and_system_a_look_of_its_own(kept: _KeptFigures, tmp_path: Path) -> None:
    runs = [
        _result(
            {"series": "sizes", "workload": "operations", "size": size, "operations": list(OPERATIONS)},
            _BOTH,
            {op: [(i + 1) * size * 1000] for i, op in enumerate(OPERATIONS)},
        )
        for size in (4, 1024, 256000)
    ]

    assert bench_plots._sizes(_suite(runs), kept, tmp_path / "sizes.png")

    (figure,) = kept.figures
    axes = figure.axes[0]
    drawn = _drawn(axes)
    assert len(drawn) == len(OPERATIONS) * 2
    assert len(set(drawn)) == len(drawn)
    colours = {colour for colour, _, _ in drawn}
    assert len(colours) == len(OPERATIONS)  # one per operation, shared by its two systems
    styles = {(style, marker) for _, style, marker in drawn}
    assert len(styles) == 2  # one per system
    assert _legends(axes) == {"operation": list(OPERATIONS), "system": ["faaskeeper (local)", "zookeeper"]}


def test_throughput_vs_clients_gives_every_read_share_and_system_a_look_of_its_own(
    kept: _KeptFigures, tmp_path: Path
) -> None:
    runs = []
    for share in (0.1, 0.5, 0.9):
        for clients in (1, 2, 4):
            run = _result(
                {
                    "series": "mix",
                    "workload": "mix",
                    "clients": clients,
                    "read_share": share,
                    "operations": list(MIX_OPERATIONS),
                },
                _BOTH,
                {"get_data": [1000]},
            )
            for system in run.systems.values():
                system.throughput = {"total": 1000.0 * clients * (1 + share)}
            runs.append(run)

    assert bench_plots._throughput(_suite(runs), kept, tmp_path / "throughput.png")

    (figure,) = kept.figures
    axes = figure.axes[0]
    drawn = _drawn(axes)
    assert len(drawn) == 3 * 2
    assert len(set(drawn)) == len(drawn)
    assert len({colour for colour, _, _ in drawn}) == 3
    assert _legends(axes) == {"reads": ["10%", "50%", "90%"], "system": ["faaskeeper (local)", "zookeeper"]}


def test_more_series_than_the_colour_cycle_still_get_colours_of_their_own(kept: _KeptFigures) -> None:
    colours = bench_plots._colours(kept, 14)

    assert len({tuple(colour) if not isinstance(colour, str) else colour for colour in colours}) == 14
