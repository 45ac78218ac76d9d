"""``fk``: the one front door to FaaSKeeper deployments on every installed provider."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper.plugins.manager import registry

Command = Callable[[argparse.Namespace], int]


def _load_config(args: argparse.Namespace) -> Config:
    path = Path(args.config)
    try:
        data: Any = json.loads(path.read_text())
    except OSError as err:
        raise FaaSKeeperException(f"Cannot read config file {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise FaaSKeeperException(f"Config file {path} is not valid JSON: {err}") from err
    if isinstance(data, dict) and getattr(args, "provider", None):
        given = data.get("cloud-provider")
        if given is not None and given != args.provider:
            raise FaaSKeeperException(
                f"--provider {args.provider} disagrees with 'cloud-provider': {given!r} in {path}"
            )
        data.setdefault("cloud-provider", args.provider)
    return Config.deserialize(data)


def _write_config(config: Config, path: Path) -> None:
    path.write_text(json.dumps(config.serialize(), indent=2) + "\n")


def cmd_deploy(args: argparse.Namespace) -> int:
    config = _load_config(args)
    provider = registry().get(config.cloud_provider)
    provider.validate_config(config)
    if args.target == "functions":
        updated = provider.deploy_functions(config)
        state = "updated" if updated else "up to date (they run from the installed package)"
        print(f"{provider.name}: functions of {config.deployment_name!r} {state}")
        return 0
    deployed = provider.deploy(config, clean=args.clean)
    output = Path(args.output or args.config)
    _write_config(deployed, output)
    print(f"{provider.name}: deployed {config.deployment_name!r}; client config written to {output}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    config = _load_config(args)
    provider = registry().get(config.cloud_provider)
    provider.remove(config)
    print(f"{provider.name}: removed {config.deployment_name!r}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = _load_config(args)
    provider = registry().get(config.cloud_provider)
    status = provider.status(config)
    width = max(len(k) for k in status) if status else 0
    for key, value in status.items():
        print(f"{key:<{width}}  {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fk", description="Deploy, remove and inspect FaaSKeeper deployments.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    deploy = commands.add_parser("deploy", help="create or update a deployment")
    deploy.add_argument("target", choices=["service", "functions"], help="the whole service, or only its functions")
    deploy.add_argument("--provider", help="provider name (default: the config's cloud-provider)")
    deploy.add_argument("--config", required=True, help="deployment config (JSON)")
    deploy.add_argument("--clean", action="store_true", help="remove an existing deployment first")
    deploy.add_argument("--output", help="where to write the client config (default: --config, updated)")
    deploy.set_defaults(func=cmd_deploy)

    remove = commands.add_parser("remove", help="delete a deployment and everything it holds")
    remove.add_argument("target", choices=["service"], help="what to remove")
    remove.add_argument("--provider", help="provider name (default: the config's cloud-provider)")
    remove.add_argument("--config", required=True, help="deployment config (JSON)")
    remove.set_defaults(func=cmd_remove)

    status = commands.add_parser("status", help="resources, sessions, nodes and queue depths")
    status.add_argument("--provider", help="provider name (default: the config's cloud-provider)")
    status.add_argument("--config", required=True, help="deployment config (JSON)")
    status.set_defaults(func=cmd_status)

    for extend in _EXTENSIONS:
        extend(commands)
    return parser


#: Subcommand builders registered by other modules of this package (bench, shell).
_EXTENSIONS: list[Callable[[Any], None]] = []


def _load_extensions() -> None:
    from faaskeeper_deploy import bench, cost, shell, soak  # noqa: F401 - each registers its subcommand


def main(argv: Sequence[str] | None = None) -> int:
    _load_extensions()
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        code: int = args.func(args)
        return code
    except FaaSKeeperException as err:
        if args.debug:
            raise
        print(f"fk: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
