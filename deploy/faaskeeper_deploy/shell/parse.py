"""Reading what is typed into ``fk shell``: commands split on ``;`` and newlines, words split as a shell does,
and the strict argument types of the commands."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Iterator
from typing import NoReturn, TypeVar

from faaskeeper import paths
from faaskeeper.exceptions import MalformedInputException
from faaskeeper_deploy.shell.session import ShellError

T = TypeVar("T")


def unquoted(text: str) -> Iterator[tuple[int, str]]:
    """Each character of ``text``, with its index, that is neither inside quotes, escaped, nor
    itself a quote or an escape: where a shell would see it as syntax."""
    quote: str | None = None
    escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        else:
            yield i, ch


def split_commands(text: str) -> list[str]:
    """The commands in ``text``: separated by ``;`` or newlines that are not quoted or escaped."""
    pieces: list[str] = []
    start = 0
    for i, ch in unquoted(text):
        if ch in ";\n":
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return [piece for piece in pieces if piece.strip()]


#: One piece of a word, or the blanks between words. The double-quoted form is the unrolled
#: loop (no nested quantifier), so that a missing closing quote cannot make matching backtrack.
_PIECE = re.compile(
    r"""(?P<blank>[ \t\r\n]+)
    | (?P<plain>[^ \t\r\n'"\\]+)
    | '(?P<single>[^']*)'
    | "(?P<double>[^"\\]*(?:\\.[^"\\]*)*)"
    | \\(?P<escaped>.)""",
    re.VERBOSE | re.DOTALL,
)
_OPEN_DOUBLE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
#: Inside double quotes a backslash escapes only a double quote or a backslash.
_DOUBLE_ESCAPE = re.compile(r'\\(["\\])')


def posix_words(text: str) -> list[str]:
    """The words of ``text`` as ``shlex.split`` reads them (POSIX quoting, no comments), in linear time.

    Raises ValueError, with shlex's messages, for an unclosed quote or a final lone backslash.
    """
    words: list[str] = []
    word: list[str] | None = None
    pos, end = 0, len(text)
    while pos < end:
        piece = _PIECE.match(text, pos)
        if piece is None:
            raise ValueError(_unreadable(text, pos))
        pos = piece.end()
        kind = piece.lastgroup
        if kind == "blank":
            if word is not None:
                words.append("".join(word))
                word = None
            continue
        value = piece.group(kind or "plain")
        if kind == "double":
            value = _DOUBLE_ESCAPE.sub(r"\1", value)
        if word is None:
            word = []
        word.append(value)
    if word is not None:
        words.append("".join(word))
    return words


def _unreadable(text: str, pos: int) -> str:
    """Why no piece starts at ``pos``: an unclosed quote, or a backslash with nothing after it."""
    if text[pos] == '"':
        opened = _OPEN_DOUBLE.match(text, pos)
        if opened is not None and opened.end() < len(text):  # stopped at a final lone backslash
            return "No escaped character"
        return "No closing quotation"
    return "No closing quotation" if text[pos] == "'" else "No escaped character"


def split_words(command: str) -> list[str]:
    """The words of one command, quoted and escaped as in a POSIX shell; none for a ``#`` comment."""
    if command.lstrip().startswith("#"):
        return []
    try:
        return posix_words(command)
    except ValueError as err:
        raise ShellError(f"cannot read {command.strip()!r}: {str(err).lower()}") from err


class CommandParser(argparse.ArgumentParser):
    """An argument parser whose errors are ShellErrors, never an exit of the process."""

    def __init__(self, name: str, summary: str) -> None:
        super().__init__(prog=name, description=summary, add_help=False, allow_abbrev=False)
        self.add_argument("-h", "--help", action="store_true", help="show this help")

    def error(self, message: str) -> NoReturn:
        raise ShellError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise ShellError(message or f"{self.prog} stopped")

    def flags(self) -> list[str]:
        """Every option string the command takes, for completion."""
        return sorted(flag for action in self._actions for flag in action.option_strings)

    def argument_after(self, words: list[str]) -> str | None:
        """The destination of the argument that the word after ``words`` (the command's words so far)
        fills: a flag's value or a positional; None past the last positional."""
        with_value = {flag: a for a in self._actions for flag in a.option_strings if a.nargs != 0}
        positionals = [a for a in self._actions if not a.option_strings]
        expecting: argparse.Action | None = None
        filled, options_ended = 0, False
        for word in words:
            if expecting is not None:
                expecting = None
            elif options_ended or not word.startswith("-") or word == "-":
                filled += 1
            elif word == "--":
                options_ended = True
            else:
                expecting = with_value.get(word)
        if expecting is not None:
            return expecting.dest
        return positionals[filled].dest if filled < len(positionals) else None


def node_path(text: str) -> str:
    """An absolute, well-formed node path."""
    try:
        return paths.validate_path(text)
    except MalformedInputException as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def changeable_path(text: str) -> str:
    """A node path other than the root."""
    try:
        return paths.validate_path(text, allow_root=False)
    except MalformedInputException as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def after_data(check: Callable[[str], T]) -> Callable[[str], T]:
    """``check`` for an argument after DATA, whose error says to quote DATA: a word of unquoted
    data with spaces lands there."""

    def parse(text: str) -> T:
        try:
            return check(text)
        except argparse.ArgumentTypeError as err:
            raise argparse.ArgumentTypeError(f'{err} (quote DATA that has spaces: "two words")') from err

    parse.__name__ = check.__name__  # argparse names the type in some messages
    return parse


def boolean(text: str) -> bool:
    """Exactly ``true`` or ``false``, in any case; anything else is an error, never true."""
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return lowered == "true"


def version(text: str) -> int:
    """A node version: an integer, -1 for any version."""
    try:
        value = int(text)
    except ValueError:
        value = -2
    if value < -1:
        raise argparse.ArgumentTypeError(f"expected a version (an integer >= -1), got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def data_bytes(text: str | None, hex_digits: bool) -> bytes:
    """A value as typed: UTF-8 text, or with ``hex_digits`` the bytes those hex digits spell."""
    if text is None:
        return b""
    if not hex_digits:
        return text.encode("utf-8")
    try:
        return bytes.fromhex(text.removeprefix("hex:"))
    except ValueError as err:
        raise ShellError(f"DATA is not hexadecimal: {text!r}") from err
