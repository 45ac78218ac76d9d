"""``fk cost --rate``: the deployment measured under the load of concurrent sessions.

``--clients`` sessions (threads of ``fk cost``, each its own client) call get_data and set_data
(``--read-share`` of the calls reads) at ``--rate`` calls a second in all for ``--seconds``
(:meth:`CostModel.measure_load <faaskeeper.api.cost.CostModel.measure_load>`), so that the
writer and the distributor are handed batches as they would be in service. Each operation is
priced from the requests the run counted divided by the calls that completed, and the report
shows the batch sizes the functions were handed. ``--clients`` is the same number the monthly
workload prices the heartbeat of: the sessions that are open.
"""

from __future__ import annotations

import argparse
from typing import Any

from faaskeeper.api.cost import LoadMeasurement
from faaskeeper.exceptions import ConfigurationException

#: Seconds of load when ``--seconds`` is not given.
DEFAULT_SECONDS = 20.0


def _above_zero(text: str) -> float:
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def _whole(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def add_load_arguments(cost: Any) -> None:
    """The arguments of ``fk cost`` that describe the clients, and the load they make with ``--rate``."""
    group = cost.add_argument_group(
        "clients and load",
        "With --rate, measure under load instead of one call at a time: --clients sessions call get_data "
        "(--read-share of the calls) and set_data on nodes of --size bytes, --rate calls a second in all, "
        "for --seconds.",
    )
    group.add_argument(
        "--clients",
        type=_whole,
        default=10,
        metavar="N",
        help="concurrent client sessions: with --rate those making the load, with --requests-per-day those "
        "each heartbeat run pings (default: 10)",
    )
    group.add_argument("--rate", type=_above_zero, metavar="R", help="calls a second of all the clients together")
    group.add_argument(
        "--seconds",
        type=_above_zero,
        default=DEFAULT_SECONDS,
        metavar="S",
        help=f"seconds of load with --rate (default: {DEFAULT_SECONDS:g})",
    )


def check_load_arguments(args: argparse.Namespace) -> None:
    """Refuse, before anything runs, a load that cannot be made or priced."""
    if args.clients < 1:
        raise ConfigurationException(f"fk cost: --clients must be at least 1 with --rate, got {args.clients}")
    if args.requests_per_day is not None and not 0 < args.read_share < 1:
        raise ConfigurationException(
            "fk cost: with --rate and --requests-per-day, --read-share must be above 0 and below 1 "
            f"(the month is priced from a measured read and write), got {args.read_share:g}"
        )


def check_priced(load: LoadMeasurement, needed: tuple[str, ...]) -> None:
    """Refuse a monthly report from a load in which an operation it prices never completed."""
    missing = [name for name in needed if name not in load.requests]
    if missing:
        raise ConfigurationException(
            f"fk cost: no {' or '.join(missing)} call completed in the load; raise --seconds or --rate"
        )


def describe_load(load: LoadMeasurement) -> str:
    """The load in words, for the report's first line."""
    return (
        f"{load.clients} concurrent client{'' if load.clients == 1 else 's'} at {load.rate:g} calls/s "
        f"for {load.seconds:g} s "
        f"({load.achieved_rate:.1f}/s made), {load.read_share:.0%} reads, {load.size} B nodes"
    )


def batch_summary(sizes: dict[int, int]) -> dict[str, Any]:
    """Invocations, messages, mean and largest batch of one function's ``messages -> invocations``."""
    invocations = sum(sizes.values())
    messages = sum(size * n for size, n in sizes.items())
    return {
        "invocations": invocations,
        "messages": messages,
        "mean": messages / invocations if invocations else 0.0,
        "max": max(sizes, default=0),
        "sizes": {str(size): n for size, n in sorted(sizes.items())},
    }


def render_load(load: LoadMeasurement, table: str) -> str:
    """The calls made, the table of requests and costs per call, and the batches the functions were handed."""
    made = "; ".join(
        f"{name} {load.completed[name]} of {load.issued[name]} completed" for name in load.issued if load.issued[name]
    )
    lines = [f"Calls: {made} in {load.elapsed:.1f} s.", "", table, ""]
    if load.batches:
        lines.append("Messages per invocation (batch sizes the functions were handed):")
        for function, sizes in load.batches.items():
            summary = batch_summary(sizes)
            spread = ", ".join(f"{n} x {size}" for size, n in sizes.items())
            lines.append(
                f"  {function}: {summary['mean']:.2f} on average, at most {summary['max']} "
                f"({summary['invocations']} invocations: {spread})"
            )
    else:
        lines.append("No function was handed a batch (nothing ran the functions here).")
    if load.errors:
        lines.append("")
        lines.append(f"{sum(load.issued.values()) - sum(load.completed.values())} calls failed; the first:")
        lines.extend(f"  {error}" for error in load.errors)
    return "\n".join(lines)


def load_document(load: LoadMeasurement) -> dict[str, Any]:
    """The load's part of ``fk cost --json``."""
    return {
        "clients": load.clients,
        "rate": load.rate,
        "seconds": load.seconds,
        "read_share": load.read_share,
        "size": load.size,
        "elapsed": load.elapsed,
        "achieved_rate": load.achieved_rate,
        "operations": {name: {"issued": load.issued[name], "completed": load.completed[name]} for name in load.issued},
        "errors": load.errors,
        "batches": {function: batch_summary(sizes) for function, sizes in load.batches.items()},
    }
