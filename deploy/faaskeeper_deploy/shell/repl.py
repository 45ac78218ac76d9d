"""The interactive loop of ``fk shell`` on prompt_toolkit: prompt, history, completion, and watch events
printed above the line being typed."""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.application import Application, create_app_session, run_in_terminal
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import ThreadedCompleter
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.input import Input
from prompt_toolkit.output import Output
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.styles import Style

from faaskeeper_deploy.shell.commands import Shell
from faaskeeper_deploy.shell.completion import ShellCompleter, session_children
from faaskeeper_deploy.shell.session import Console, ShellSession

#: Environment variable naming the history file (``--history`` wins over it).
HISTORY_ENV = "FK_SHELL_HISTORY"

STYLE = Style.from_dict(
    {
        "fk": "bold",
        "connected": "ansigreen",
        "suspended": "ansiyellow",
        "lost": "ansired",
        "closed": "ansired",
        "session": "ansicyan",
    }
)


def history_path(option: str | None = None) -> Path:
    """``option``, else $FK_SHELL_HISTORY, else ``faaskeeper/history`` in the user's data directory."""
    chosen = option or os.environ.get(HISTORY_ENV)
    if chosen:
        return Path(chosen).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "faaskeeper" / "history"


def open_history(path: Path, console: Console) -> History:
    """A history kept in ``path``; kept in memory only (with a warning) if the file cannot be used."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
    except OSError as err:
        console.error(f"history: cannot use {path} ({err.strerror}); this session's history is not kept")
        return InMemoryHistory()
    return FileHistory(str(path))


def prompt_text(session: ShellSession) -> FormattedText:
    """``[fk: local:dev(CONNECTED) session:3fa2c1d0] ``: provider, deployment, state, short session id."""
    state = session.state
    parts = [("class:fk", "[fk: "), ("", f"{session.label}("), (f"class:{state.lower()}", state), ("", ")")]
    if session.session_id:
        parts.append(("class:session", f" session:{session.session_id[:8]}"))
    parts.append(("class:fk", "] "))
    return FormattedText(parts)


class _OutputStream:
    """A prompt_toolkit output as a text stream, for writing while no prompt is shown."""

    def __init__(self, output: Output) -> None:
        self._output = output

    def write(self, text: str, /) -> int:
        self._output.write_raw(text)
        return len(text)

    def flush(self) -> None:
        self._output.flush()


class _Notices:
    """A stream for lines written on other threads: drawn above the prompt, the line being typed kept.

    Lines are queued and written by ``run_in_terminal`` in the prompt's event loop (with the prompt's
    context, so that it finds the running application); while no prompt runs they are written at once.
    :meth:`drain` writes what a prompt that ended meanwhile left queued.
    """

    def __init__(self, app: Application[str], terminal: _OutputStream) -> None:
        self._app = app
        self._terminal = terminal
        self._context = contextvars.copy_context()
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str, /) -> int:
        with self._lock:
            self._pending.append(text)
        loop = self._app.loop
        if self._app.is_running and loop is not None:
            try:
                loop.call_soon_threadsafe(self._drain_in_terminal, context=self._context)
                return len(text)
            except RuntimeError:  # the loop closed meanwhile
                pass
        self.drain()
        return len(text)

    def flush(self) -> None:
        pass

    def _drain_in_terminal(self) -> None:
        run_in_terminal(self.drain, in_executor=False)

    def drain(self) -> None:
        with self._lock:
            if self._pending:
                self._terminal.write("".join(self._pending))
                self._terminal.flush()
                self._pending.clear()


@contextmanager
def _logs_above_prompt() -> Iterator[None]:
    """Point logging's stderr handlers at the current (patched) ``sys.stderr`` while the prompt runs."""
    moved = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (sys.__stderr__, sys.__stdout__):
            moved.append((handler, handler.setStream(sys.stderr)))
    try:
        yield
    finally:
        for handler, stream in moved:
            handler.setStream(stream)


def run_repl(shell: Shell, history: History, *, input: Input | None = None, output: Output | None = None) -> int:
    """Prompt for commands until ``quit`` or end of input; returns the exit status (0)."""
    completer = ShellCompleter(session_children(shell.session))
    # Tests pass a pipe and a buffer; a terminal keeps prompt_toolkit's default session, whose
    # patch_stdout then draws stray output (logging) above the prompt too.
    scope = create_app_session(input=input, output=output) if input or output else nullcontext()
    with scope:
        prompt: PromptSession[str] = PromptSession(
            message=lambda: prompt_text(shell.session),
            history=history,
            completer=ThreadedCompleter(completer),
            complete_while_typing=True,
            auto_suggest=AutoSuggestFromHistory(),
            style=STYLE,
        )
        shell.session.on_change(prompt.app.invalidate)
        terminal = _OutputStream(prompt.app.output)
        notices = _Notices(prompt.app, terminal)
        with shell.console.writing_to(terminal, notices), patch_stdout(raw=True), _logs_above_prompt():
            while not shell.finished:
                try:
                    line = prompt.prompt()
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                finally:
                    notices.drain()
                shell.execute(line)
                completer.forget()
    return 0
