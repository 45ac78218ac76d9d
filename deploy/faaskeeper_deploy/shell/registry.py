"""The registry of ``fk shell``'s commands: their names, aliases, arguments, and lookups by name."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from faaskeeper_deploy.shell.parse import CommandParser

#: A command's body, called with the interpreter that runs it and the parsed arguments. The
#: interpreter is :class:`faaskeeper_deploy.shell.commands.Shell`, whose module registers its
#: commands here and so is not imported by this one.
Runner = Callable[[Any, argparse.Namespace], None]
R = TypeVar("R", bound=Runner)


@dataclass(frozen=True)
class Command:
    name: str
    summary: str
    arguments: Callable[[CommandParser], None]
    run: Runner

    @cached_property
    def parser(self) -> CommandParser:
        parser = CommandParser(self.name, self.summary)
        self.arguments(parser)
        return parser


COMMANDS: dict[str, Command] = {}
#: Other names of commands.
ALIASES = {"exit": "quit"}
#: Commands that end or replace the session or lose data: never offered as the guess for a typo.
NEVER_GUESSED = frozenset({"close", "connect", "delete", "exit", "quit", "set"})


def command(name: str, summary: str, arguments: Callable[[CommandParser], None]) -> Callable[[R], R]:
    """Register the decorated function as the command ``name``, taking the arguments ``arguments`` declares."""

    def register(run: R) -> R:
        COMMANDS[name] = Command(name, summary, arguments, run)
        return run

    return register


def find(name: str) -> Command | None:
    """The command ``name`` or an alias of it names."""
    return COMMANDS.get(ALIASES.get(name, name))


def aliases_of(name: str) -> list[str]:
    return sorted(alias for alias, target in ALIASES.items() if target == name)


def command_names() -> list[str]:
    return sorted([*COMMANDS, *ALIASES])


def guess(name: str) -> str:
    """The command ``name`` is likely a typo of, if running that one by mistake is harmless; else the list."""
    near = difflib.get_close_matches(name, command_names(), n=1)
    if near and near[0] not in NEVER_GUESSED:
        return f"did you mean {near[0]!r}?"
    return "the commands are " + ", ".join(command_names())


def flags_of(name: str) -> list[str]:
    found = find(name)
    return found.parser.flags() if found is not None else []


def argument_after(name: str, words: list[str]) -> str | None:
    """Which argument of the command ``name`` the word after ``words`` fills (its destination)."""
    found = find(name)
    return found.parser.argument_after(words) if found is not None else None
