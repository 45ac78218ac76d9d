"""The plots of ``fk bench`` (matplotlib, PNG): what each series of a suite shows best.

* ``latency-distribution.png``: box plots of every sample, per operation and system, from the
  operations and watch runs (log scale: reads and writes differ by orders of magnitude);
* ``latency-vs-size.png``: the median of each operation against the node size (``sizes`` runs);
* ``throughput-vs-clients.png``: operations per second against concurrent clients, per system and
  read share (``mix`` runs).

In the line plots a colour is an operation (or a read share) and a line style a system, each with
its own legend, so that no two series look alike however many there are.

A plot whose series was not run is not drawn. matplotlib draws with its Agg backend, without a display.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from faaskeeper_deploy.bench.common import (
    FAASKEEPER,
    MIX_WORKLOAD,
    OPERATIONS_WORKLOAD,
    TOTAL,
    WATCH_WORKLOAD,
    ZOOKEEPER,
    BenchError,
)
from faaskeeper_deploy.bench.suite import SIZES_SERIES, Suite

DISTRIBUTION = "latency-distribution.png"
SIZES = "latency-vs-size.png"
THROUGHPUT = "throughput-vs-clients.png"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as err:
        raise BenchError("plots need matplotlib: pip install 'faaskeeper[bench]'") from err
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _label(system: str, description: dict[str, Any]) -> str:
    provider = description.get("provider")
    return f"{system} ({provider})" if provider else system


#: How each system's lines look in the line plots, whose colours tell the series apart: FaaSKeeper
#: solid with filled circles, ZooKeeper dashed with open squares.
_SYSTEM_STYLES: dict[str, dict[str, Any]] = {
    FAASKEEPER: {"linestyle": "-", "marker": "o"},
    ZOOKEEPER: {"linestyle": "--", "marker": "s", "markerfacecolor": "white"},
}


def _colours(plt: Any, count: int) -> list[Any]:
    """``count`` colours that differ from each other: the colour cycle's, or a colour map's beyond it."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if count <= len(cycle):
        return list(cycle[:count])
    cmap = plt.get_cmap("turbo")
    return [cmap(i / (count - 1)) for i in range(count)]


def _line_plot(
    plt: Any,
    axes: Any,
    lines: dict[tuple[str, Any], list[tuple[float, float]]],
    labels: dict[str, str],
    names: dict[Any, str],
    colour_title: str,
) -> None:
    """Draw ``lines`` (keyed by system and series, in the order of ``names``): one colour per
    series, one line style and marker per system, and a legend of each."""
    from matplotlib.lines import Line2D

    series = list(names)
    colours = dict(zip(series, _colours(plt, len(series)), strict=True))
    systems = [name for name in _SYSTEM_STYLES if any(system == name for system, _ in lines)]
    for (system, key), points in sorted(lines.items(), key=lambda item: (series.index(item[0][1]), item[0][0])):
        points.sort()
        axes.plot(
            [p[0] for p in points], [p[1] for p in points], color=colours[key], markersize=5, **_SYSTEM_STYLES[system]
        )
    by_colour = axes.legend(
        handles=[Line2D([], [], color=colours[key], linewidth=3) for key in series],
        labels=[names[key] for key in series],
        title=colour_title,
        fontsize="small",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
    )
    axes.add_artist(by_colour)
    axes.legend(
        handles=[Line2D([], [], color="black", **_SYSTEM_STYLES[name]) for name in systems],
        labels=[labels[name] for name in systems],
        title="system",
        fontsize="small",
        loc="lower left",
        bbox_to_anchor=(1.02, 0.0),
    )


def _distribution(suite: Suite, plt: Any, path: Path) -> bool:
    columns: list[tuple[str, dict[str, list[float]]]] = []
    for run in suite.runs:
        s = run.settings
        if s["workload"] not in (OPERATIONS_WORKLOAD, WATCH_WORKLOAD) or s.get("series") == SIZES_SERIES:
            continue
        for op in run.operations:
            if s["workload"] == WATCH_WORKLOAD and op != "watch":
                continue
            by_system = {
                _label(name, system.description): [x / 1e6 for x in system.samples_ns.get(op, [])]
                for name, system in run.systems.items()
            }
            if any(by_system.values()):
                columns.append((op, by_system))
    if not columns:
        return False
    systems = list(dict.fromkeys(label for _, by_system in columns for label in by_system))
    figure, axes = plt.subplots(figsize=(max(6.0, 1.4 * len(columns)), 4.5))
    width = 0.8 / len(systems)
    colours = _colours(plt, len(systems))
    for j, label in enumerate(systems):
        data = [by_system.get(label, []) for _, by_system in columns]
        positions = [i + (j - (len(systems) - 1) / 2) * width for i in range(len(columns))]
        kept = [(p, d) for p, d in zip(positions, data, strict=True) if d]
        boxes = axes.boxplot(
            [d for _, d in kept],
            positions=[p for p, _ in kept],
            widths=width * 0.9,
            patch_artist=True,
            showfliers=False,
            whis=(1, 99),
            # The default median line takes the colour cycle's second colour: invisible on such a box.
            medianprops={"color": "black", "linewidth": 1.5},
        )
        for box in boxes["boxes"]:
            box.set_facecolor(colours[j])
        axes.plot([], [], color=colours[j], linewidth=8, label=label)
    axes.set_xticks(range(len(columns)), [op for op, _ in columns])
    axes.set_yscale("log")
    axes.set_ylabel("latency (ms, log scale)")
    axes.set_title("Latency per operation (box: quartiles and median, whiskers: p1-p99)")
    axes.legend()
    axes.grid(True, axis="y", which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def _sizes(suite: Suite, plt: Any, path: Path) -> bool:
    lines: dict[tuple[str, Any], list[tuple[float, float]]] = defaultdict(list)
    labels: dict[str, str] = {}
    operations: dict[Any, str] = {}
    for run in suite.runs:
        if run.settings.get("series") != SIZES_SERIES:
            continue
        for op in run.operations:
            operations[op] = op
        for name, system in run.systems.items():
            labels[name] = _label(name, system.description)
            for op, summary in system.operations.items():
                lines[(name, op)].append((run.settings["size"], summary.median_ms))
    if not lines:
        return False
    figure, axes = plt.subplots(figsize=(9, 5))
    _line_plot(plt, axes, lines, labels, operations, "operation")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("node size (bytes, log scale)")
    axes.set_ylabel("median latency (ms, log scale)")
    axes.set_title("Latency against node size")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def _throughput(suite: Suite, plt: Any, path: Path) -> bool:
    lines: dict[tuple[str, Any], list[tuple[float, float]]] = defaultdict(list)
    labels: dict[str, str] = {}
    for run in suite.runs:
        s = run.settings
        if s["workload"] != MIX_WORKLOAD:
            continue
        for name, system in run.systems.items():
            labels[name] = _label(name, system.description)
            if TOTAL in system.throughput:
                lines[(name, s["read_share"])].append((s["clients"], system.throughput[TOTAL]))
    if not lines:
        return False
    shares = {share: f"{share:.0%}" for share in sorted({share for _, share in lines})}
    figure, axes = plt.subplots(figsize=(8, 4.5))
    _line_plot(plt, axes, lines, labels, shares, "reads")
    axes.set_xlabel("concurrent clients")
    axes.set_ylabel("operations per second")
    axes.set_title("Throughput against clients")
    axes.set_ylim(bottom=0)
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def write_plots(suite: Suite, directory: Path) -> list[Path]:
    """Draw the plots of ``suite``'s series into ``directory``; returns the files written."""
    plt = _pyplot()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BenchError(f"Cannot create {directory}: {err.strerror}") from err
    written = []
    for name, draw in ((DISTRIBUTION, _distribution), (SIZES, _sizes), (THROUGHPUT, _throughput)):
        path = directory / name
        try:
            if draw(suite, plt, path):
                written.append(path)
        except OSError as err:
            raise BenchError(f"Cannot write {path}: {err.strerror}") from err
    return written
