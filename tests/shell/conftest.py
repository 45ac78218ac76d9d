"""fk shell against real local deployments in temporary directories, driven through prompt_toolkit's pipe input."""

from __future__ import annotations

import io
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.history import History, InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper_deploy.cli import main
from faaskeeper_deploy.shell.commands import Shell
from faaskeeper_deploy.shell.repl import run_repl
from faaskeeper_deploy.shell.session import Console, ShellSession

_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]|[\r\x07\x08]")


def plain(text: str) -> str:
    """Terminal output without its escape sequences and carriage returns."""
    return _ESCAPES.sub("", text)


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    """A client config of a fresh local deployment, written by ``fk deploy`` as a user would."""
    path = tmp_path / "fk.json"
    local = {"path": str(tmp_path / "data"), "lock-max-hold": 1, "visibility-timeout": 1}
    path.write_text(json.dumps({"cloud-provider": "local", "deployment-name": "dev", "local": local}))
    assert main(["deploy", "service", "--config", str(path)]) == 0
    return str(path)


@pytest.fixture
def client(config_file: str) -> Iterator[FaaSKeeperClient]:
    """Another session on the same deployment, to change what a shell watches."""
    c = FaaSKeeperClient(Config.from_file(config_file), timeout=20)
    c.start()
    yield c
    if c.session_id is not None:
        c.stop()


class Repl:
    """An ``fk shell`` prompt in a thread: keys go in through a pipe, the screen comes out in a buffer."""

    def __init__(self, config_file: str, history: History | None = None, console: Console | None = None) -> None:
        self._pipe_scope = create_pipe_input()
        self.pipe = self._pipe_scope.__enter__()
        self.buffer = io.StringIO()
        self.output = Vt100_Output(self.buffer, lambda: Size(rows=40, columns=160), term="xterm")
        self.session = ShellSession(Config.from_file(config_file), console or Console(), timeout=20)
        self.session.connect()
        self.shell = Shell(self.session)
        self.history = history or InMemoryHistory()
        self.status: int | None = None
        self.mark = 0
        self.thread = threading.Thread(target=self._run, name="repl", daemon=True)
        self.thread.start()
        self.expect_re(r"\[fk: [^\]]*\]")  # the first prompt

    def _run(self) -> None:
        self.status = run_repl(self.shell, self.history, input=self.pipe, output=self.output)

    def screen(self) -> str:
        return plain(self.buffer.getvalue())

    def send(self, keys: str) -> None:
        self.pipe.send_text(keys)

    def wait(self, found: Callable[[str], re.Match[str] | None], what: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            seen = self.screen()
            match = found(seen[self.mark :])
            if match is not None:
                self.mark += match.end()
                return match
            if time.monotonic() > deadline:
                raise AssertionError(f"{what!r} did not appear; screen since the last match:\n{seen[self.mark :]}")
            time.sleep(0.01)

    def expect(self, text: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait until ``text`` appears after what was matched before."""
        return self.wait(re.compile(re.escape(text)).search, text, timeout)

    def expect_line(self, line: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait until ``line`` appears as a whole line of output."""
        return self.wait(re.compile(rf"(?m)^{re.escape(line)}$").search, line, timeout)

    def expect_re(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait until the regular expression ``pattern`` (multi-line mode: ^ and $ match at lines) matches."""
        pattern = "(?m)" + pattern
        return self.wait(re.compile(pattern).search, pattern, timeout)

    def run(self, line: str, *expected_lines: str) -> None:
        """Type ``line`` and Enter, and wait for each of ``expected_lines`` in order."""
        self.send(line + "\r")
        for expected in expected_lines:
            self.expect_line(expected)

    def quit(self) -> int | None:
        if self.thread.is_alive():
            self.send("quit\r")
            self.thread.join(10)
        return self.status

    def close(self) -> None:
        if self.thread.is_alive():
            self.pipe.close()  # end of input ends the prompt
            self.thread.join(10)
        self._pipe_scope.__exit__(None, None, None)
        self.session.close()


@pytest.fixture
def repl_factory(config_file: str) -> Iterator[Callable[..., Repl]]:
    opened: list[Repl] = []

    def start(history: History | None = None, console: Console | None = None) -> Repl:
        repl = Repl(config_file, history, console)
        opened.append(repl)
        return repl

    yield start
    for repl in reversed(opened):
        repl.close()


@pytest.fixture
def repl(repl_factory: Callable[..., Repl]) -> Repl:
    return repl_factory()
