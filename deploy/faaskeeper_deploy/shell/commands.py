"""The commands of ``fk shell`` and the interpreter that runs them against a session.

Pure of any terminal: a :class:`Shell` reads command lines and writes through its session's
console, so the same code serves the interactive prompt, ``-c`` and scripts on standard input.
"""

from __future__ import annotations

import argparse
import contextlib
import traceback
from collections.abc import Callable
from pathlib import Path

from faaskeeper import paths
from faaskeeper.exceptions import (
    BadVersionError,
    FaaSKeeperException,
    NodeDoesntExistException,
    RolledBackException,
    RuntimeInconsistencyException,
)
from faaskeeper.protocol.messages import Op
from faaskeeper.transaction import Transaction
from faaskeeper.watch import WatchCallbackType
from faaskeeper_deploy.config_file import load_config
from faaskeeper_deploy.shell import parse
from faaskeeper_deploy.shell.registry import COMMANDS, aliases_of, command, find, guess
from faaskeeper_deploy.shell.render import render_data, render_listing, render_stat, render_tree
from faaskeeper_deploy.shell.session import ShellError, ShellSession


def _no_arguments(parser: parse.CommandParser) -> None:
    pass


class Shell:
    """Runs command lines against a :class:`ShellSession`; remembers whether ``quit`` was given.

    Interactive, Ctrl-C ends the running command only; in a script it ends the script (it propagates).
    """

    def __init__(
        self, session: ShellSession, *, debug: bool = False, interactive: bool = True, provider: str | None = None
    ) -> None:
        self.session = session
        #: ``--provider``: the provider of a config file without ``cloud-provider``.
        self.provider = provider
        self.console = session.console
        self.debug = debug
        self.interactive = interactive
        self.finished = False
        #: Watch events that had fired when the line being run was typed (``wait`` waits for a later one).
        self.events_before_line = 0

    def execute(self, text: str) -> bool:
        """Run every command in ``text`` (``;`` or newline separated); True if all succeeded."""
        self.events_before_line = self.session.events_fired
        ok = True
        for piece in parse.split_commands(text):
            if self.finished:
                break
            ok = self.run_one(piece) and ok
        return ok

    def run_one(self, text: str) -> bool:
        """Run one command; its failure is reported as one line on the console."""
        try:
            words = parse.split_words(text)
        except ShellError as err:
            self._report(None, str(err))
            return False
        if not words:
            return True
        return self.call(words[0], lambda: self.dispatch(words[0], words[1:]))

    def call(self, name: str, action: Callable[[], object], *, fatal: tuple[type[Exception], ...] = ()) -> bool:
        """Run ``action`` for the command ``name``; False, with its error reported as one line, if it fails.

        An error of a ``fatal`` type is not reported but raised.
        """
        try:
            action()
            return True
        except fatal:
            raise
        except FaaSKeeperException as err:
            self._report(name, str(err))
        except KeyboardInterrupt:
            if not self.interactive:
                raise
            self._report(name, "interrupted")
        except Exception as err:
            interrupt = _interrupt_behind(err)
            if interrupt is not None:  # Ctrl-C inside code whose clean-up then failed (argparse's does)
                if not self.interactive:
                    raise interrupt from err
                self._report(name, "interrupted")
            else:
                self._report(name, f"{type(err).__name__}: {err}")
        return False

    def _report(self, name: str | None, message: str) -> None:
        if self.debug:
            self.console.error(traceback.format_exc().rstrip())
        self.console.error(f"{name}: {message}" if name else message)

    def dispatch(self, name: str, argv: list[str]) -> None:
        found = find(name)
        if found is None:
            raise ShellError(f"unknown command; {guess(name)}")
        options = argv[: argv.index("--")] if "--" in argv else argv
        if "-h" in options or "--help" in options:
            self.console.out(found.parser.format_help().rstrip())
            return
        found.run(self, found.parser.parse_intermixed_args(argv))


def _watch_flags(parser: parse.CommandParser, what: str) -> None:
    parser.add_argument("-w", "--watch", action="store_true", help=f"set a one-shot watch on {what}")


def _watch(shell: Shell, args: argparse.Namespace) -> WatchCallbackType | None:
    return shell.session.watch() if args.watch or args.watch_bool else None


def _one_version(args: argparse.Namespace) -> int:
    if args.version is not None and args.version_pos is not None:
        raise ShellError("the version is given twice (as -v and as VERSION)")
    found: int | None = args.version if args.version is not None else args.version_pos
    return -1 if found is None else found


# -- session ---------------------------------------------------------------------------------


def _help_args(p: parse.CommandParser) -> None:
    p.add_argument("topic", nargs="?", metavar="COMMAND", help="the command to explain")


@command("help", "list the commands, or show how to use one", _help_args)
def _help(shell: Shell, args: argparse.Namespace) -> None:
    if args.topic is not None:
        found = find(args.topic)
        if found is None:
            raise ShellError(f"no command {args.topic!r} (help lists the commands)")
        shell.console.out(found.parser.format_help().rstrip())
        return
    width = max(len(name) for name in COMMANDS)
    for name in sorted(COMMANDS):
        aliases = aliases_of(name)
        also = f" (also: {', '.join(aliases)})" if aliases else ""
        shell.console.out(f"  {name:<{width}}  {COMMANDS[name].summary}{also}")
    shell.console.out("Separate commands with ';'. Quote values with spaces: create /a \"two words\".")
    shell.console.out("help COMMAND, or COMMAND -h, explains one command. quit, exit or Ctrl-D leaves.")


def _connect_args(p: parse.CommandParser) -> None:
    p.add_argument("config", nargs="?", metavar="CONFIG", help="client config file (default: the current one)")


@command("connect", "start a new session, closing the current one", _connect_args)
def _connect(shell: Shell, args: argparse.Namespace) -> None:
    config = load_config(Path(args.config), shell.provider) if args.config is not None else None
    session_id = shell.session.connect(config)
    shell.console.out(f"Connected to {shell.session.label}: session {session_id}")


@command("close", "close the session; its ephemeral nodes are deleted", _no_arguments)
def _close(shell: Shell, args: argparse.Namespace) -> None:
    session_id = shell.session.session_id
    if session_id is None:
        raise ShellError("not connected")
    shell.session.close()
    shell.console.out(f"Closed session {session_id}")


@command("quit", "close the session and leave the shell", _no_arguments)
def _quit(shell: Shell, args: argparse.Namespace) -> None:
    shell.finished = True


def _wait_args(p: parse.CommandParser) -> None:
    p.add_argument("timeout", nargs="?", type=parse.seconds, default=30.0, metavar="SECONDS", help="default: 30")


@command("wait", "wait for a watch to fire after this line was typed, and print it", _wait_args)
def _wait(shell: Shell, args: argparse.Namespace) -> None:
    waited = shell.session.wait_for_event(args.timeout, since=shell.events_before_line)
    if waited is None:
        raise ShellError(f"no watch fired within {args.timeout:g} s")
    event, shown = waited
    if not shown:  # one that fired earlier in this line is printed above already
        shell.console.out(event)


# -- writes ----------------------------------------------------------------------------------


def _create_args(p: parse.CommandParser) -> None:
    p.add_argument("-e", "--ephemeral", action="store_true", help="deleted when this session ends")
    p.add_argument("-s", "--sequential", action="store_true", help="append a 10-digit counter to the name")
    p.add_argument("-x", "--hex", action="store_true", help="DATA is hexadecimal digits")
    p.add_argument("path", type=parse.changeable_path, metavar="PATH", help="the node's path")
    p.add_argument("data", nargs="?", metavar="DATA", help="the value (default: empty)")
    after_data = parse.after_data(parse.boolean)
    p.add_argument("ephemeral_bool", nargs="?", type=after_data, metavar="EPHEMERAL", help="true or false")
    p.add_argument("sequential_bool", nargs="?", type=after_data, metavar="SEQUENTIAL", help="true or false")


@command("create", "create a node, optionally ephemeral or sequential", _create_args)
def _create(shell: Shell, args: argparse.Namespace) -> None:
    node = shell.session.require().create(
        args.path,
        parse.data_bytes(args.data, args.hex),
        ephemeral=args.ephemeral or bool(args.ephemeral_bool),
        sequential=args.sequential or bool(args.sequential_bool),
    )
    shell.console.out(f"Created {node.path}")


def _set_args(p: parse.CommandParser) -> None:
    p.add_argument("-v", "--version", type=parse.version, help="only if the node is at this version")
    p.add_argument("-x", "--hex", action="store_true", help="DATA is hexadecimal digits")
    p.add_argument("path", type=parse.node_path, metavar="PATH", help="the node's path")
    p.add_argument("data", metavar="DATA")
    p.add_argument("version_pos", nargs="?", type=parse.after_data(parse.version), metavar="VERSION", help="same as -v")


@command("set", "replace a node's data, optionally only at a version", _set_args)
def _set(shell: Shell, args: argparse.Namespace) -> None:
    node = shell.session.require().set_data(args.path, parse.data_bytes(args.data, args.hex), _one_version(args))
    shell.console.out(f"Set {node.path} (version {node.stat.version})")


def _delete_args(p: parse.CommandParser) -> None:
    p.add_argument("-v", "--version", type=parse.version, help="only if the node is at this version")
    p.add_argument("-r", "--recursive", action="store_true", help="delete its descendants first")
    p.add_argument("path", type=parse.changeable_path, metavar="PATH", help="the node's path")
    p.add_argument("version_pos", nargs="?", type=parse.version, metavar="VERSION", help="same as -v")


@command("delete", "delete a node, optionally at a version or with its descendants", _delete_args)
def _delete(shell: Shell, args: argparse.Namespace) -> None:
    client, version = shell.session.require(), _one_version(args)
    descendants: list[str] = []
    if args.recursive:
        # A wrong version or a missing node must leave the descendants alone.
        node = client.exists(args.path)
        if node is None:
            raise NodeDoesntExistException(args.path)
        if version != -1 and node.stat.version != version:
            raise BadVersionError(version, args.path)
        tree = shell.session.subtree(args.path)
        descendants = [child.path for nodes in tree.values() for child in nodes]
    for path in reversed(descendants):  # breadth-first order reversed: children before parents
        with contextlib.suppress(NodeDoesntExistException):  # gone meanwhile
            client.delete(path)
    client.delete(args.path, version)
    more = f" and {len(descendants)} descendants" if descendants else ""
    shell.console.out(f"Deleted {args.path}{more}")


def _check_args(p: parse.CommandParser) -> None:
    p.add_argument("path", type=parse.node_path, metavar="PATH", help="the node's path")
    p.add_argument("version", type=parse.version, metavar="VERSION", help="the version it must be at (-1: any)")


#: The operations ``multi`` takes, each parsed as its own command is (``check`` only there).
_MULTI_OPS = {"create", "set", "delete", "check"}
_CHECK = parse.CommandParser("check", "the node exists at VERSION")
_check_args(_CHECK)


def _multi_args(p: parse.CommandParser) -> None:
    p.add_argument(
        "ops",
        nargs="+",
        metavar="OP",
        help="quoted: 'create [-e] [-s] [-x] PATH [DATA]', 'set [-v VERSION] [-x] PATH DATA', "
        "'delete [-v VERSION] PATH' or 'check PATH VERSION'",
    )


@command("multi", "apply several creates, sets, deletes and checks atomically, or none", _multi_args)
def _multi(shell: Shell, args: argparse.Namespace) -> None:
    txn = shell.session.require().transaction()
    for text in args.ops:
        _add_operation(txn, text)
    results = txn.commit()
    for text, result in zip(args.ops, results, strict=True):
        if isinstance(result, FaaSKeeperException) and not isinstance(
            result, RolledBackException | RuntimeInconsistencyException
        ):
            raise ShellError(f"nothing applied: {text!r} failed: {result}")
    for op, result in zip(txn.operations, results, strict=True):
        if op.op is Op.CREATE:
            shell.console.out(f"Created {result}")
        elif op.op is Op.SET_DATA:
            shell.console.out(f"Set {op.path} (version {result.version})")
        elif op.op is Op.DELETE:
            shell.console.out(f"Deleted {op.path}")
        else:
            shell.console.out(f"Checked {op.path}")


def _add_operation(txn: Transaction, text: str) -> None:
    """Add the operation ``text`` names to ``txn``, its arguments parsed as its own command's."""
    words = parse.split_words(text)
    if not words or words[0] not in _MULTI_OPS:
        raise ShellError(f"{text!r} is not an operation of a transaction ({', '.join(sorted(_MULTI_OPS))})")
    found = find(words[0])
    op = (found.parser if found is not None and words[0] != "check" else _CHECK).parse_intermixed_args(words[1:])
    if words[0] == "create":
        ephemeral, sequential = op.ephemeral or bool(op.ephemeral_bool), op.sequential or bool(op.sequential_bool)
        txn.create(op.path, parse.data_bytes(op.data, op.hex), ephemeral=ephemeral, sequential=sequential)
    elif words[0] == "set":
        txn.set_data(op.path, parse.data_bytes(op.data, op.hex), _one_version(op))
    elif words[0] == "delete":
        if op.recursive:
            raise ShellError("delete -r cannot be part of a transaction")
        txn.delete(op.path, _one_version(op))
    else:
        txn.check(op.path, op.version)


def _sync_args(p: parse.CommandParser) -> None:
    p.add_argument("path", nargs="?", type=parse.node_path, default=paths.ROOT, metavar="PATH", help="default: /")


@command("sync", "wait until every write completed anywhere is visible to this session", _sync_args)
def _sync(shell: Shell, args: argparse.Namespace) -> None:
    shell.console.out(f"Synced {shell.session.require().sync(args.path)}")


# -- reads -----------------------------------------------------------------------------------


def _get_args(p: parse.CommandParser) -> None:
    _watch_flags(p, "the node's data (fires on set and delete)")
    p.add_argument("-s", "--stat", action="store_true", help="print the stat after the data")
    p.add_argument("path", type=parse.node_path, metavar="PATH", help="the node's path")
    p.add_argument("watch_bool", nargs="?", type=parse.boolean, metavar="WATCH", help="same as -w: true or false")


@command("get", "print a node's data, optionally watching it", _get_args)
def _get(shell: Shell, args: argparse.Namespace) -> None:
    node = shell.session.require().get_data(args.path, watch=_watch(shell, args))
    shell.console.out(render_data(node.data))
    if args.stat:
        for line in render_stat(node.stat, shell.session.txn):
            shell.console.out(line)


def _ls_args(p: parse.CommandParser) -> None:
    _watch_flags(p, "the children (fires on a child's create or delete)")
    p.add_argument("-l", "--long", action="store_true", help="with type, version, size, children and mtime")
    p.add_argument("path", nargs="?", type=parse.node_path, default=paths.ROOT, metavar="PATH", help="default: /")
    p.add_argument("watch_bool", nargs="?", type=parse.boolean, metavar="WATCH", help="same as -w: true or false")


@command("ls", "list a node's children, optionally with stats or watching them", _ls_args)
def _ls(shell: Shell, args: argparse.Namespace) -> None:
    children = shell.session.require().get_children(args.path, include_data=args.long, watch=_watch(shell, args))
    lines = render_listing(children) if args.long else [paths.name(child.path) for child in children]
    for line in lines:
        shell.console.out(line)


def _stat_args(p: parse.CommandParser) -> None:
    p.add_argument("path", type=parse.node_path, metavar="PATH", help="the node's path")


@command("stat", "print every field of a node's stat", _stat_args)
def _stat(shell: Shell, args: argparse.Namespace) -> None:
    node = shell.session.require().exists(args.path)
    if node is None:
        raise NodeDoesntExistException(args.path)
    for line in render_stat(node.stat, shell.session.txn):
        shell.console.out(line)


def _exists_args(p: parse.CommandParser) -> None:
    _watch_flags(p, "the node (fires on its create, set and delete)")
    p.add_argument("path", type=parse.node_path, metavar="PATH", help="the node's path")
    p.add_argument("watch_bool", nargs="?", type=parse.boolean, metavar="WATCH", help="same as -w: true or false")


@command("exists", "say whether a node exists, optionally watching it", _exists_args)
def _exists(shell: Shell, args: argparse.Namespace) -> None:
    node = shell.session.require().exists(args.path, watch=_watch(shell, args))
    if node is None:
        shell.console.out(f"{args.path} does not exist")
    else:
        stat = node.stat
        shell.console.out(f"{args.path} exists (version {stat.version}, {stat.num_children} children)")


def _tree_args(p: parse.CommandParser) -> None:
    p.add_argument("-d", "--depth", type=parse.positive_int, help="levels to show (default: all)")
    p.add_argument("path", nargs="?", type=parse.node_path, default=paths.ROOT, metavar="PATH", help="default: /")


@command("tree", "draw the nodes under a path", _tree_args)
def _tree(shell: Shell, args: argparse.Namespace) -> None:
    if shell.session.require().exists(args.path) is None:
        raise NodeDoesntExistException(args.path)
    tree = shell.session.subtree(args.path, depth=args.depth)
    names = {path: [paths.name(child.path) for child in nodes] for path, nodes in tree.items()}
    for line in render_tree(args.path, names):
        shell.console.out(line)


def _ephemerals_args(p: parse.CommandParser) -> None:
    p.add_argument("prefix", nargs="?", type=parse.node_path, metavar="PATH", help="only those under PATH")


@command("ephemerals", "list this session's ephemeral nodes", _ephemerals_args)
def _ephemerals(shell: Shell, args: argparse.Namespace) -> None:
    for path in shell.session.ephemerals():
        if (
            args.prefix is None
            or args.prefix == paths.ROOT
            or path == args.prefix
            or path.startswith(args.prefix + "/")
        ):
            shell.console.out(path)


def _interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C that ``error`` was raised while handling, if any."""
    seen: set[int] = set()
    cause = error.__context__
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return cause
        seen.add(id(cause))
        cause = cause.__context__
    return None
