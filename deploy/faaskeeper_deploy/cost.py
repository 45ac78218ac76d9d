"""``fk cost``: the billable requests and list-price cost of each operation, and of a month of a workload (AWS).

Measures each operation on a deployment with its functions in the Lambda emulator
(:func:`faaskeeper_aws.measure.measure_operations`), turns the counted requests into billable
units and prices them (:mod:`faaskeeper_aws.pricing`), next to the upstream FaaSKeeper's write and
read priced with the same table. The measurement creates and deletes nodes and takes over the
deployment's event source mappings, so it runs only against an emulator (an endpoint override)
unless ``--allow-real-aws`` is given. The AWS modules are imported only when the command runs.

With ``--requests-per-day`` it also prices a month of a described workload against a ZooKeeper
ensemble of VMs, with the break-even point (:mod:`faaskeeper_deploy.cost_workload`).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from faaskeeper.exceptions import ConfigurationException, FaaSKeeperException
from faaskeeper_deploy import cli
from faaskeeper_deploy.cost_workload import add_workload_arguments

#: Columns of the cost table: (heading, Units field).
_UNIT_COLUMNS = (
    ("DDB RRU", "dynamodb_rru"),
    ("DDB WRU", "dynamodb_wru"),
    ("S3 PUT", "s3_put"),
    ("S3 GET", "s3_get"),
    ("SQS req", "sqs_requests"),
    ("Lambda", "lambda_requests"),
    ("GB-s", "lambda_gb_seconds"),
)


def _number(value: float) -> str:
    if value == 0:
        return "0"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}" if value < 1 else f"{value:.2f}"


def cost_rows(requests: dict[str, dict[tuple[str, str], float]], prices: Any, memory_mb: int) -> list[dict[str, Any]]:
    """One row per operation, then the upstream's write and read: units and costs."""
    from faaskeeper_aws.pricing import UPSTREAM_READ, UPSTREAM_WRITE, billable_units

    rows: list[dict[str, Any]] = []
    for name, counted in requests.items():
        rows.append({"operation": name, "requests": counted, "units": billable_units(counted, memory_mb=memory_mb)})
    rows.append({"operation": "upstream write", "requests": None, "units": UPSTREAM_WRITE})
    rows.append({"operation": "upstream read", "requests": None, "units": UPSTREAM_READ})
    for row in rows:
        units = row["units"]
        row["usd_per_op"] = units.cost(prices, duration=False)
        row["usd_per_100k"] = 1e5 * row["usd_per_op"]
        row["usd_per_100k_with_duration"] = 1e5 * units.cost(prices) if row["requests"] is not None else None
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    """The requests per service of each measured operation, then the table of units and costs."""
    lines = ["Requests per operation (client + functions + Lambda's SQS poller per batch), averaged:"]
    width = max(len(r["operation"]) for r in rows)
    for row in rows:
        if row["requests"] is None:
            continue
        by_service: dict[str, list[str]] = {}
        for (service, operation), n in row["requests"].items():
            by_service.setdefault(service, []).append(f"{operation} {_number(n)}")
        text = "; ".join(f"{s}: {', '.join(ops)}" for s, ops in sorted(by_service.items()))
        lines.append(f"  {row['operation']:<{width}}  {text}")
    headings = ["operation", *(h for h, _ in _UNIT_COLUMNS), "$/op", "$/100k", "$/100k+dur"]
    table = [headings]
    for row in rows:
        units = row["units"]
        with_duration = row["usd_per_100k_with_duration"]
        table.append(
            [
                row["operation"],
                *(_number(getattr(units, field)) for _, field in _UNIT_COLUMNS),
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
    lines.append("")
    lines.append(
        "$/op and $/100k: requests only (Lambda requests, not duration); $/100k+dur adds Lambda GB-seconds "
        "from the emulator's billed ms, which are not Lambda's. Upstream: 2 SQS FIFO, 3 DynamoDB writes + "
        "1 read, 1 S3 PUT, 2 Lambda runs per write; 1 S3 GET per read; no poller requests."
    )
    return "\n".join(lines)


def _emulated(config: Any) -> bool:
    endpoint = config.provider_section.get("endpoint-url")
    return bool(endpoint or os.environ.get("AWS_ENDPOINT_URL"))


def cmd_cost(args: argparse.Namespace) -> int:
    config = cli._load_config(args)
    if config.cloud_provider != "aws":
        raise ConfigurationException(f"fk cost supports the aws provider only, not {config.cloud_provider!r}")
    if not _emulated(config) and not args.allow_real_aws:
        raise ConfigurationException(
            "fk cost creates and deletes nodes and runs the functions in the Lambda emulator: point it at an "
            "emulator (AWS_ENDPOINT_URL or the config's aws.endpoint-url), or pass --allow-real-aws"
        )
    from faaskeeper_aws.measure import measure_operations
    from faaskeeper_aws.options import DeployOptions
    from faaskeeper_aws.pricing import Prices

    prices = Prices.load(args.prices) if args.prices else Prices()
    memory = DeployOptions.from_config(config).memory
    emulated = _emulated(config)
    functions = "deployed" if emulated else "none"
    measurement = measure_operations(config, repetitions=args.repetitions, size=args.size, functions=functions)
    rows = cost_rows(measurement.requests, prices, memory)
    print(
        f"fk cost: {config.deployment_name!r}, {config.user_storage.value} storage, {config.client_channel.value} "
        f"channel; {measurement.repetitions} calls per operation, {measurement.size} B nodes; "
        f"prices {prices.region} as of {prices.source_date}, Lambda arm64 {memory} MB\n"
    )
    print(render(rows))
    if not emulated:
        print("\nReal AWS: the functions ran on Lambda, so only the client's requests were counted.")
    monthly: dict[str, Any] | None = None
    if args.requests_per_day is not None:
        from faaskeeper_deploy.cost_workload import workload_report

        text, monthly = workload_report(args, config, measurement.requests, prices, memory, functions)
        print("\n" + text)
    if args.json:
        document = {
            "deployment": config.deployment_name,
            "user_storage": config.user_storage.value,
            "client_channel": config.client_channel.value,
            "repetitions": measurement.repetitions,
            "size": measurement.size,
            "memory_mb": memory,
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


def add_cost_parser(commands: Any) -> None:
    """Add ``fk cost`` to the subcommands of ``fk``."""
    cost = commands.add_parser(
        "cost",
        help="billable requests and list-price cost of each operation (aws)",
        description=(
            "Measure the billable requests of each operation (create, set_data, get_data, exists, "
            "get_children, delete) on an AWS deployment whose functions run in the Lambda emulator, "
            "and price them from public us-east-1 list prices, next to the upstream FaaSKeeper's write "
            "and read. Creates and deletes nodes under /fk-cost-*; refuses real AWS unless --allow-real-aws."
        ),
    )
    cost.add_argument("--config", metavar="CLIENT_CONFIG", required=True, help="client config of the deployment")
    cost.add_argument(
        "--repetitions", type=_positive, default=10, metavar="N", help="calls per operation (default: 10)"
    )
    cost.add_argument("--size", type=_size, default=100, metavar="BYTES", help="bytes of data per node (default: 100)")
    cost.add_argument("--prices", metavar="FILE", help="JSON object of prices replacing the defaults")
    cost.add_argument("--json", metavar="OUT", help="write the requests, units and costs to this file")
    cost.add_argument(
        "--allow-real-aws", action="store_true", help="measure even without an emulator endpoint (creates nodes)"
    )
    add_workload_arguments(cost)
    cost.set_defaults(func=cmd_cost)


cli._EXTENSIONS.append(add_cost_parser)
