"""Tab completion in ``fk shell``: command names, their flags, and node paths read from the deployment."""

from __future__ import annotations

import re
import shlex
import threading
import time
from collections.abc import Callable, Iterable

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from faaskeeper import paths
from faaskeeper.client.client import SessionState
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper_deploy.shell import commands  # noqa: F401 - registers the commands completed here
from faaskeeper_deploy.shell.parse import posix_words, unquoted
from faaskeeper_deploy.shell.registry import argument_after, command_names, flags_of
from faaskeeper_deploy.shell.session import ShellSession

#: Seconds a listing of children is reused while typing.
CACHE_SECONDS = 2.0
#: The arguments that are node paths (not DATA, a VERSION, a config file, ...).
_PATHS = frozenset({"path", "prefix"})


def split_partial(text: str) -> tuple[list[str], str]:
    """The finished words of the last command in ``text``, and the raw text of the word being typed."""
    command_start = word_start = 0
    for i, ch in unquoted(text):
        if ch in ";\n":
            command_start = word_start = i + 1
        elif ch.isspace():
            word_start = i + 1
    try:
        words = posix_words(text[command_start:word_start])
    except ValueError:
        words = []
    return words, text[word_start:]


def unquote_partial(raw: str) -> str:
    """What a half-typed word means: an opening quote dropped, backslash escapes resolved."""
    if raw[:1] in ("'", '"'):
        return raw[1:]
    return re.sub(r"\\(.)", r"\1", raw)


class ShellCompleter(Completer):
    """Completes the first word as a command, ``-`` words as its flags, other words as node paths.

    Children are read from the deployment (``get_children`` of the typed path's parent) and kept
    for :data:`CACHE_SECONDS`; :meth:`forget` drops them, e.g. after a command changed the tree.
    """

    def __init__(self, list_children: Callable[[str], list[str]]) -> None:
        self._list_children = list_children
        self._cache: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def children(self, path: str) -> list[str]:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        names = self._list_children(path)
        with self._lock:
            self._cache[path] = (now, names)
        return names

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        words, raw = split_partial(document.text_before_cursor)
        value = unquote_partial(raw)
        if not words:
            yield from self._choose(command_names(), value, raw)
        elif value.startswith("-"):
            yield from self._choose(flags_of(words[0]), value, raw)
        else:
            argument = argument_after(words[0], words[1:])
            if argument == "topic":  # of help
                yield from self._choose(command_names(), value, raw)
            elif argument in _PATHS and (value == "" or value.startswith("/")):
                yield from self._paths(value, raw)

    @staticmethod
    def _choose(options: Iterable[str], value: str, raw: str) -> Iterable[Completion]:
        for option in options:
            if option.startswith(value):
                yield Completion(option, start_position=-len(raw))

    def _paths(self, value: str, raw: str) -> Iterable[Completion]:
        parent, _, prefix = (value or "/").rpartition("/")
        parent = parent or paths.ROOT
        for name in self.children(parent):
            if name.startswith(prefix):
                full = paths.join(parent, name)
                yield Completion(shlex.quote(full), start_position=-len(raw), display=name)


def session_children(session: ShellSession) -> Callable[[str], list[str]]:
    """Names of a node's children as the session's client reads them; none while there is no session."""

    def list_children(path: str) -> list[str]:
        client = session.client
        if client is None or client.state is SessionState.LOST:
            return []
        try:
            return [paths.name(child.path) for child in client.get_children(path)]
        except FaaSKeeperException:
            return []

    return list_children
