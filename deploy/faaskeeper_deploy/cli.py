"""``fk``: the one front door to FaaSKeeper deployments on every installed provider."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper_deploy import lifecycle, soak
from faaskeeper_deploy.bench import cli as bench_cli
from faaskeeper_deploy.cost import cli as cost_cli
from faaskeeper_deploy.shell import cli as shell_cli

#: Each adds its group of subcommands to fk's; ``fk --help`` lists them in this order.
COMMAND_GROUPS: tuple[Callable[[Any], None], ...] = (
    lifecycle.register,
    bench_cli.register,
    cost_cli.register,
    shell_cli.register,
    soak.register,
)

DEBUG_HELP = "show tracebacks and debug logs"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fk",
        description="Deploy, inspect and remove FaaSKeeper deployments on any installed provider; explore one "
        "in an interactive shell (fk shell); measure it against ZooKeeper (fk bench), price its operations "
        "(fk cost) and check its guarantees under faults (fk soak).",
    )
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for register in COMMAND_GROUPS:
        register(commands)
    for command in commands.choices.values():  # --debug may follow the subcommand too
        if "--debug" not in command._option_string_actions:
            command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
    return parser


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; an unknown one is reported with the usage of the subcommand it was given to."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        commands.choices[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(build_parser(), argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        code: int = args.func(args)
        return code
    except FaaSKeeperException as err:
        if args.debug:
            raise
        print(f"fk: error: {one_line(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # a cloud SDK's error that escaped its provider's boundary, or a bug
        if args.debug:
            raise
        print(f"fk: error: {escaped(err)} (fk --debug shows the traceback)", file=sys.stderr)
        return 1


def one_line(text: str) -> str:
    return " ".join(text.split())


def escaped(err: BaseException) -> str:
    """An error FaaSKeeper did not translate, named by its type (with its module, unless built in)."""
    kind = type(err)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    message = one_line(str(err))
    return f"{name}: {message}" if message else name
