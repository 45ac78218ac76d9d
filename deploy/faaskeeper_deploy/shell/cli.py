"""``fk shell CONFIG``: an interactive session with a deployment, or a script of commands with ``-c``/stdin.

The command itself lives in :mod:`faaskeeper_deploy.shell.commands` (parsing and running; the
names in :mod:`~faaskeeper_deploy.shell.registry`),
:mod:`~faaskeeper_deploy.shell.session` (the client), :mod:`~faaskeeper_deploy.shell.render`
(output), :mod:`~faaskeeper_deploy.shell.completion` and :mod:`~faaskeeper_deploy.shell.repl`
(the prompt); they are imported only when the shell runs, so that other ``fk`` commands stay quick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from faaskeeper.exceptions import DeploymentNotFoundException
from faaskeeper_deploy.config_file import load_config

if TYPE_CHECKING:
    from faaskeeper_deploy.shell.commands import Shell


def run_script(shell: Shell, source: str | TextIO) -> int:
    """Run commands from a string or, line by line, from a stream; 0 only if every command succeeded."""
    ok = True
    lines = [source] if isinstance(source, str) else source
    for line in lines:
        ok = shell.execute(line) and ok
        if shell.finished:
            break
    return 0 if ok else 1


def cmd_shell(args: argparse.Namespace) -> int:
    from faaskeeper_deploy.shell.commands import Shell
    from faaskeeper_deploy.shell.repl import history_path, open_history, run_repl
    from faaskeeper_deploy.shell.session import Console, ShellSession

    config = load_config(Path(args.config), args.provider)
    interactive = args.commands is None and sys.stdin.isatty()
    console = Console(color=interactive and sys.stdout.isatty())
    session = ShellSession(config, console, timeout=args.timeout)
    shell = Shell(session, debug=args.debug, interactive=interactive, provider=args.provider)
    # A deployment that does not exist (a typo in its name or path?) ends fk shell with the error.
    missing = (DeploymentNotFoundException,)
    try:
        if interactive:
            shell.call("connect", lambda: shell.dispatch("connect", []), fatal=missing)
            console.out("Type help for the commands, quit or Ctrl-D to leave.")
            return run_repl(shell, open_history(history_path(args.history), console))
        if not shell.call("connect", session.connect, fatal=missing):
            return 1
        return run_script(shell, args.commands if args.commands is not None else sys.stdin)
    finally:
        if session.client is not None:
            shell.call("close", session.close)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def register(commands: Any) -> None:
    """Add ``fk shell`` to the subcommands of ``fk``."""
    shell = commands.add_parser(
        "shell",
        help="an interactive session with a deployment (or run commands with -c)",
        description=(
            "Open a session with the deployment of a client config (as fk deploy writes it) and run "
            "ZooKeeper-style commands: create, get, set, delete, ls, stat, exists, tree, ephemerals, ... "
            "(help lists them). Interactive on a terminal, with history, completion of commands and node "
            "paths, and watch events printed as they arrive. With -c, or with commands on standard input, "
            "it runs them and exits with status 0 only if every command succeeded."
        ),
    )
    shell.add_argument("config", metavar="CONFIG", help="client config file")
    shell.add_argument("--provider", help="provider name, for a config without 'cloud-provider'")
    shell.add_argument(
        "-c", "--command", dest="commands", metavar="COMMANDS", help="run these commands (separated by ';') and exit"
    )
    shell.add_argument(
        "--history",
        metavar="FILE",
        help="history file (default: $FK_SHELL_HISTORY, else ~/.local/share/faaskeeper/history)",
    )
    shell.add_argument(
        "--timeout", type=_seconds, default=30.0, metavar="SECONDS", help="seconds an operation may take (default: 30)"
    )
    shell.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print tracebacks of failed commands, and debug logs",
    )
    shell.set_defaults(func=cmd_shell)
