"""``fk deploy``, ``fk remove`` and ``fk status``: a deployment's life on any installed provider."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.exceptions import DeploymentCorruptException, FaaSKeeperException
from faaskeeper_deploy.config_file import checked_config, read_config_data, write_config
from faaskeeper_deploy.deploy_options import add_provider_options, apply_provider_options, blaming_options
from faaskeeper_deploy.deploy_output import client_config_path
from faaskeeper_deploy.progress import reporting
from faaskeeper_deploy.status_view import print_status, status_json

_FORMATTER = argparse.RawDescriptionHelpFormatter


def cmd_deploy(args: argparse.Namespace) -> int:
    if args.target == "functions" and (args.clean or args.output or args.force):
        raise FaaSKeeperException("--clean, --force and --output apply to fk deploy service only")
    path = Path(args.config)
    data = read_config_data(path, args.provider)
    given = apply_provider_options(args, args.provider_options, data)
    with blaming_options(given):
        config, provider = checked_config(data, path)
        _deploy(args, config, provider)
    return 0


def _deploy(args: argparse.Namespace, config: Config, provider: Provider) -> None:
    if args.target == "functions":
        with reporting(provider.name) as reporter:
            updated = provider.deploy_functions(config, reporter=reporter)
        state = "updated" if updated else "up to date (they run from the installed package)"
        print(f"{provider.name}: functions of {config.deployment_name!r} {state}")
        return
    source = Path(args.config)
    output = client_config_path(source, args.output, config)
    live = _unless_live(provider, config, "removing it first", force=args.force) if args.clean else 0
    with reporting(provider.name) as reporter:
        deployed = provider.deploy(config, clean=args.clean, reporter=reporter)
    write_config(deployed, output)
    example = not args.output and output != source
    kept = f" ({source} is an example, left as it is; --output chooses the file)" if example else ""
    print(f"{provider.name}: deployed {config.deployment_name!r}; client config written to {output}{kept}{_lost(live)}")


def _load(args: argparse.Namespace) -> tuple[Config, Provider]:
    path = Path(args.config)
    return checked_config(read_config_data(path, args.provider), path)


def cmd_remove(args: argparse.Namespace) -> int:
    config, provider = _load(args)
    live = _unless_live(provider, config, "removing it", force=args.force)
    with reporting(provider.name) as reporter:
        provider.remove(config, reporter=reporter)
    print(f"{provider.name}: removed {config.deployment_name!r}{_lost(live)}")
    return 0


def _sessions(count: int) -> str:
    return f"{count} live session{'' if count == 1 else 's'}"


def _unless_live(provider: Provider, config: Config, doing: str, *, force: bool) -> int:
    """The live sessions of the deployment, which ``doing`` would fail; an error without ``force``
    if there are any. A damaged deployment has none (no call of a client can succeed on it)."""
    try:
        status = provider.status(config)
    except DeploymentCorruptException:
        return 0
    except FaaSKeeperException as err:
        if force:
            return 0
        raise FaaSKeeperException(
            f"Cannot count the live sessions of {config.deployment_name!r} ({err}): add --force to go on without"
        ) from err
    live = int(status.get("sessions", 0)) if status.get("deployed") else 0
    if live and not force:
        raise FaaSKeeperException(
            f"Deployment {config.deployment_name!r} has {_sessions(live)}: {doing} fails their calls. Stop their "
            "clients first, or add --force. (A client that died without closing stays live until its session "
            "expires, which takes a running client of the deployment.)"
        )
    return live


def _lost(live: int) -> str:
    return f"; the calls of its {_sessions(live)} now fail" if live else ""


def cmd_status(args: argparse.Namespace) -> int:
    config, provider = _load(args)
    if args.json:
        print(status_json(provider.status(config)))
        return 0
    with reporting(provider.name) as reporter:
        status = provider.status(config, reporter=reporter)
    print_status(status)
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--provider", help="provider name (default: the config's cloud-provider)")
    parser.add_argument("--config", required=True, metavar="FILE", help="deployment config (JSON)")


def register(commands: Any) -> None:
    """Add ``deploy``, ``remove`` and ``status`` to the subcommands of ``fk``."""
    deploy = commands.add_parser(
        "deploy",
        help="create or update a deployment",
        formatter_class=_FORMATTER,
        description=(
            "Create or update the deployment that a config describes, on its provider.\n\n"
            "  service    the whole deployment: storage, queues, functions; writes the client\n"
            "             config (with what the deployment added, e.g. bucket names) back\n"
            "  functions  only the functions' code of an existing deployment"
        ),
        epilog=(
            "examples:\n"
            "  fk deploy service --provider local --config fk.json --local-path ./fk-data\n"
            "  fk deploy service --config aws.json --aws-region us-east-1 --clean\n"
            "  fk deploy functions --config aws.json"
        ),
    )
    deploy.add_argument("target", choices=["service", "functions"], help="the whole service, or only its functions")
    _common(deploy)
    deploy.add_argument("--clean", action="store_true", help="remove an existing deployment first (service only)")
    deploy.add_argument(
        "--force", action="store_true", help="with --clean: remove it even while sessions are live (their calls fail)"
    )
    deploy.add_argument(
        "--output",
        metavar="FILE",
        help="where to write the client config (default: --config, updated, unless it is under examples/: then "
        "fk-<provider>-<deployment>.json; service only)",
    )
    deploy.set_defaults(func=cmd_deploy, provider_options=add_provider_options(deploy))

    remove = commands.add_parser(
        "remove",
        help="delete a deployment and everything it holds",
        description="Delete the deployment that a config describes, with every node it holds. "
        "Removing a deployment that does not exist succeeds; one with live sessions needs --force.",
    )
    remove.add_argument("target", choices=["service"], help="what to remove")
    _common(remove)
    remove.add_argument(
        "--force", action="store_true", help="remove it even while sessions are live (their calls fail)"
    )
    remove.set_defaults(func=cmd_remove)

    status = commands.add_parser(
        "status",
        help="resources, sessions, nodes and queue depths",
        description="Show whether the deployment exists, its resources, live sessions, node and watch "
        "counts and the depth of its queues (messages waiting, in flight and dead-lettered).",
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON, for scripts")
    status.set_defaults(func=cmd_status)
