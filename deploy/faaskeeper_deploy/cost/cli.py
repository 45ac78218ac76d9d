"""``fk cost``: the billable requests and list-price cost of each operation, and of a month of a workload.

The provider of the deployment measures and prices (its :class:`~faaskeeper.api.cost.CostModel`,
from :meth:`Provider.cost_model <faaskeeper.api.provider.Provider.cost_model>`): it runs each
operation with the deployment's functions in this process, where its cloud is emulated, turns the
counted requests into billable units and prices them from its table of list prices. The
measurement creates and deletes nodes, so it runs only against an emulator unless
``--allow-real-cloud`` is given; there only the client's requests are counted.

With ``--rate`` it measures under load instead (:mod:`faaskeeper_deploy.cost.load`): ``--clients``
concurrent sessions issuing get_data and set_data at that many calls a second in all, so that the
functions are handed batches as they would be; each operation is priced from the requests the
run counted divided by the calls it made, with the batch sizes the functions were handed.

With ``--requests-per-day`` it also prices a month of a described workload against a ZooKeeper
ensemble of VMs, with the break-even point (:mod:`faaskeeper_deploy.cost.workload`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from faaskeeper.api.cost import CostModel, LoadMeasurement, PriceTable
from faaskeeper.exceptions import ConfigurationException, FaaSKeeperException
from faaskeeper.metering import Key
from faaskeeper.plugins.manager import get_provider
from faaskeeper_deploy.config_file import load_config
from faaskeeper_deploy.cost.load import (
    add_load_arguments,
    check_load_arguments,
    check_priced,
    describe_load,
    load_document,
    render_load,
)
from faaskeeper_deploy.cost.workload import add_workload_arguments


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}" if value < 1 else f"{value:.2f}"


def cost_rows(requests: dict[str, dict[Key, float]], prices: PriceTable, model: CostModel) -> list[dict[str, Any]]:
    """One row per operation, then the model's reference rows (the upstream's write and read): units and costs."""
    rows: list[dict[str, Any]] = []
    for name, counted in requests.items():
        rows.append({"operation": name, "requests": counted, "units": model.units(counted)})
    for name, units in model.references():
        rows.append({"operation": name, "requests": None, "units": units})
    for row in rows:
        units = row["units"]
        row["usd_per_op"] = units.cost(prices, duration=False)
        row["usd_per_100k"] = 1e5 * row["usd_per_op"]
        row["usd_per_100k_with_duration"] = 1e5 * units.cost(prices) if row["requests"] is not None else None
    return rows


def render(rows: list[dict[str, Any]], model: CostModel) -> str:
    """The requests per service of each measured operation, then the table of units and costs."""
    lines = [model.requests_heading]
    width = max(len(r["operation"]) for r in rows)
    for row in rows:
        if row["requests"] is None:
            continue
        by_service: dict[str, list[str]] = {}
        for (service, operation), n in row["requests"].items():
            by_service.setdefault(service, []).append(f"{operation} {_number(n)}")
        text = "; ".join(f"{s}: {', '.join(ops)}" for s, ops in sorted(by_service.items()))
        lines.append(f"  {row['operation']:<{width}}  {text}")
    headings = ["operation", *(h for h, _ in model.columns), "$/op", "$/100k", "$/100k+dur"]
    table = [headings]
    for row in rows:
        units = row["units"]
        with_duration = row["usd_per_100k_with_duration"]
        table.append(
            [
                row["operation"],
                *(_number(getattr(units, field)) for _, field in model.columns),
                f"{row['usd_per_op']:.3g}",
                f"{row['usd_per_100k']:.4f}",
                "-" if with_duration is None else f"{with_duration:.4f}",
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(headings))]
    lines.append("")
    for i, cells in enumerate(table):
        first = cells[0].ljust(widths[0])
        lines.append("  ".join([first, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    for note in model.notes():
        lines.append("")
        lines.append(note)
    return "\n".join(lines)


def cost_model(config: Any) -> CostModel:
    """The cost model of ``config``'s provider; ConfigurationException if it has none."""
    model = get_provider(config.cloud_provider).cost_model(config)
    if model is None:
        raise ConfigurationException(f"fk cost: provider {config.cloud_provider!r} does not price its requests")
    return model


def cmd_cost(args: argparse.Namespace) -> int:
    if args.rate is not None:
        check_load_arguments(args)
    config = load_config(Path(args.config))
    model = cost_model(config)
    emulated = model.emulated()
    if not emulated and not args.allow_real_cloud:
        raise ConfigurationException(model.real_cloud_refusal)
    prices = model.prices(args.prices)
    heading = (
        f"fk cost: {config.deployment_name!r}, {config.user_storage.value} storage, "
        f"{config.client_channel.value} channel"
    )
    load: LoadMeasurement | None = None
    if args.rate is None:
        measurement = model.measure_operations(repetitions=args.repetitions, size=args.size)
        requests = measurement.requests
        rows = cost_rows(requests, prices, model)
        print(
            f"{heading}; {measurement.repetitions} calls per operation, {measurement.size} B nodes; "
            f"{model.describe(prices)}\n"
        )
        print(render(rows, model))
    else:
        load = model.measure_load(
            clients=args.clients, rate=args.rate, seconds=args.seconds, read_share=args.read_share, size=args.size
        )
        requests = load.requests
        rows = cost_rows(requests, prices, model)
        print(f"{heading}; {describe_load(load)}; {model.describe(prices)}\n")
        print(render_load(load, render(rows, model)))
        if args.requests_per_day is not None:
            check_priced(load, ("get_data", "set_data"))
    if not emulated:
        print(
            f"\nReal {prices.cloud}: the functions ran on {model.functions_platform}, "
            "so only the client's requests were counted."
        )
    monthly: dict[str, Any] | None = None
    if args.requests_per_day is not None:
        from faaskeeper_deploy.cost.workload import workload_report

        text, monthly = workload_report(args, model, requests, prices)
        print("\n" + text)
    if args.json:
        document = {
            "deployment": config.deployment_name,
            "user_storage": config.user_storage.value,
            "client_channel": config.client_channel.value,
            "repetitions": None if load is not None else args.repetitions,
            "size": args.size,
            **model.settings(),
            "prices": prices.to_dict(),
            "operations": [
                {
                    "operation": row["operation"],
                    "requests": None
                    if row["requests"] is None
                    else {f"{s}.{o}": n for (s, o), n in row["requests"].items()},
                    "units": row["units"].to_dict(),
                    "usd_per_op": row["usd_per_op"],
                    "usd_per_100k": row["usd_per_100k"],
                    "usd_per_100k_with_duration": row["usd_per_100k_with_duration"],
                }
                for row in rows
            ],
            "load": None if load is None else load_document(load),
            "monthly": monthly,
        }
        try:
            Path(args.json).write_text(json.dumps(document, indent=2) + "\n")
        except OSError as err:
            raise FaaSKeeperException(f"Cannot write {args.json}: {err.strerror}") from err
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def register(commands: Any) -> None:
    """Add ``fk cost`` to the subcommands of ``fk``."""
    cost = commands.add_parser(
        "cost",
        help="billable requests and list-price cost of each operation (aws, gcp, azure)",
        description=(
            "Measure the billable requests of each operation (create, set_data, get_data, exists, "
            "get_children, delete) on a deployment whose functions run in this process against the "
            "cloud's emulators (AWS: the Lambda emulator on moto; GCP: functions-framework on the Firestore "
            "and Pub/Sub emulators; Azure: the function host on Azurite and the Cosmos DB emulator), and price "
            "them from the provider's table of public list prices "
            "(on AWS next to the upstream FaaSKeeper's write and read). Creates and deletes nodes under "
            "/fk-cost-*; refuses a real cloud unless --allow-real-cloud."
        ),
    )
    cost.add_argument("--config", metavar="CLIENT_CONFIG", required=True, help="client config of the deployment")
    cost.add_argument(
        "--repetitions",
        type=_positive,
        default=10,
        metavar="N",
        help="calls per operation, one at a time (default: 10; not with --rate)",
    )
    cost.add_argument("--size", type=_size, default=100, metavar="BYTES", help="bytes of data per node (default: 100)")
    cost.add_argument("--prices", metavar="FILE", help="JSON object of prices replacing the defaults")
    cost.add_argument("--json", metavar="OUT", help="write the requests, units and costs to this file")
    cost.add_argument(
        "--allow-real-cloud",
        "--allow-real-aws",
        dest="allow_real_cloud",
        action="store_true",
        help="measure even without an emulator (creates nodes; counts only the client's requests)",
    )
    add_load_arguments(cost)
    add_workload_arguments(cost)
    cost.set_defaults(func=cmd_cost)
