"""``fk cost --requests-per-day``: the arguments that describe a workload, and its monthly report.

The units of a read (get_data) and a write (set_data) are those ``fk cost`` just measured; the
heartbeat's are measured here by the provider's cost model; the arithmetic is
:mod:`faaskeeper_deploy.cost.model`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from faaskeeper.api.cost import CostModel, PriceTable
from faaskeeper.metering import Key


def _number(minimum: float, kind: Callable[[str], float] = float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text.replace("_", "").replace(",", ""))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text}")
        return value

    return parse


def _share(text: str) -> float:
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share such as 0.9 or 90%, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"a share is from 0 to 1 (0% to 100%), got {text!r}")
    return value


def add_workload_arguments(cost: Any) -> None:
    """The arguments of ``fk cost`` that describe a workload and the ensemble it is compared with."""
    group = cost.add_argument_group(
        "monthly cost of a workload",
        "With --requests-per-day, also measure a heartbeat run and compare the month of the workload "
        "with a ZooKeeper ensemble of VMs. --size is the workload's node size.",
    )
    group.add_argument(
        "--requests-per-day", "--ops-per-day", type=_number(0), metavar="N", help="requests a day (e.g. 1000000)"
    )
    group.add_argument(
        "--read-share", type=_share, default=0.9, metavar="S", help="share of reads, as 0.9 or 90%% (default: 0.9)"
    )
    group.add_argument(
        "--heartbeat-minutes",
        type=_number(1e-9),
        metavar="M",
        help="minutes between heartbeat runs (default: the deployment's schedule, its heartbeat-frequency "
        "rounded up to whole minutes)",
    )
    group.add_argument(
        "--vm",
        metavar="TYPE",
        help="instance type of the ensemble (default: t3.small on AWS, e2-small on GCP, B1ms on Azure)",
    )
    group.add_argument("--vms", type=_number(1, int), default=3, metavar="N", help="VMs of the ensemble (default: 3)")
    group.add_argument(
        "--disk-gb",
        type=_number(0),
        metavar="GB",
        help="disk of each VM (default: 8 GB gp3 on AWS, 10 GB pd-balanced on GCP)",
    )


def workload_report(
    args: argparse.Namespace, model: CostModel, requests: dict[str, dict[Key, float]], prices: PriceTable
) -> tuple[str, dict[str, Any]]:
    """The text and the JSON of the monthly comparison that ``args`` describes."""
    from faaskeeper_deploy.cost.model import Ensemble, Measured, Workload, monthly_cost, render_monthly

    config = model.config
    workload = Workload(
        requests_per_day=args.requests_per_day,
        read_share=args.read_share,
        node_size=args.size,
        clients=args.clients,
        heartbeat_minutes=args.heartbeat_minutes or model.heartbeat_minutes(),
        queue_channel=config.client_channel.value != "tcp",
    )
    ensemble = Ensemble(
        instance=args.vm or model.default_vm,
        vms=args.vms,
        disk_gb=model.default_disk_gb if args.disk_gb is None else args.disk_gb,
    )
    ensemble.monthly(prices)  # an unknown instance type fails before the heartbeat is measured
    heartbeat = model.measure_heartbeat()
    none = model.units({})
    measured = Measured(
        read=model.units(requests["get_data"]),
        write=model.units(requests["set_data"]),
        heartbeat_fixed=none if heartbeat is None else model.units(heartbeat.fixed),
        heartbeat_per_session=none if heartbeat is None else model.units(heartbeat.per_session),
    )
    cost = monthly_cost(workload, measured, ensemble, prices)
    text = render_monthly(workload, ensemble, cost, prices)
    if heartbeat is not None:
        text = _heartbeat_line(heartbeat.fixed, heartbeat.per_session) + "\n\n" + text
    else:
        text += (
            f"\nReal {prices.cloud}: the heartbeat was not measured (its functions run on "
            f"{model.functions_platform}) and is left out."
        )
    document = {
        "workload": asdict(workload),
        "ensemble": asdict(ensemble),
        "heartbeat_requests": None
        if heartbeat is None
        else {
            "fixed": {f"{s}.{o}": n for (s, o), n in heartbeat.fixed.items()},
            "per_session": {f"{s}.{o}": n for (s, o), n in heartbeat.per_session.items()},
        },
        "monthly_usd": {**asdict(cost), "ratio": cost.ratio},
    }
    return text, document


def _heartbeat_line(fixed: dict[tuple[str, str], float], per_session: dict[tuple[str, str], float]) -> str:
    def listed(counts: dict[tuple[str, str], float]) -> str:
        shown = [f"{s} {o} {n:g}" for (s, o), n in counts.items() if o != "ms" and not o.endswith(".ms")]
        return ", ".join(shown) or "nothing"

    return f"Heartbeat run, measured: {listed(fixed)}; per session: {listed(per_session)}"
