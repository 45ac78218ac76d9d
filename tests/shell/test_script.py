"""fk shell as a command: -c, commands on standard input, exit statuses, two shells at once, a real terminal."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faaskeeper_deploy.cli import main

from .conftest import plain


def fk_shell(config_file: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faaskeeper_deploy", "shell", config_file, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_c_runs_commands_separated_by_semicolons(config_file, capsys):
    assert main(["shell", config_file, "-c", 'create /a "x; y"; get /a; set /a z\nget /a']) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["Created /a", "x; y", "Set /a (version 1)", "z"]
    assert err == ""


def test_exit_status_is_1_if_any_command_failed_and_the_others_still_run(config_file, capsys):
    status = main(["shell", config_file, "-c", "create /a; get /missing; create /a; get --nope /a; create /b"])
    assert status == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["Created /a", "Created /b"]
    assert err.splitlines() == [
        "error: get: Node /missing does not exist",
        "error: create: Node /a exists",
        "error: get: unrecognized arguments: --nope",
    ]


@pytest.mark.parametrize(
    ("commands", "error"),
    [
        (
            "nosuch",
            "error: nosuch: unknown command; the commands are close, connect, create, delete, ephemerals, exists, "
            "exit, get, help, ls, multi, quit, set, stat, sync, tree, wait",
        ),
        (
            "create /a two words",
            "error: create: argument EPHEMERAL: expected true or false, got 'words' "
            '(quote DATA that has spaces: "two words")',
        ),
        (
            "set /a two words",
            "error: set: argument VERSION: expected a version (an integer >= -1), got 'words' "
            '(quote DATA that has spaces: "two words")',
        ),
        ("get -x /", "error: get: unrecognized arguments: -x"),
        ("get relative", "error: get: argument PATH: Path 'relative' must begin with /"),
        ("set / x -v one", "error: set: argument -v/--version: expected a version (an integer >= -1), got 'one'"),
        ("get / maybe", "error: get: argument WATCH: expected true or false, got 'maybe'"),
        ("create /a 'x", 'error: cannot read "create /a \'x": no closing quotation'),
    ],
)
def test_bad_input_fails_with_one_line(config_file, capsys, commands, error):
    assert main(["shell", config_file, "-c", commands]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [error]
    assert out == ""


def test_quit_ends_a_script(config_file, capsys):
    assert main(["shell", config_file, "-c", "create /a; quit; create /b"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Created /a"]


def test_commands_from_standard_input(config_file, capsys, monkeypatch):
    script = "# set up\ncreate /s 'from stdin'\n\nget /s; ls /\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(script))
    assert main(["shell", config_file]) == 0
    assert capsys.readouterr().out.splitlines() == ["Created /s", "from stdin", "s"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("get /nope\nget /s\n"))
    assert main(["shell", config_file]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["from stdin"]
    assert err.splitlines() == ["error: get: Node /nope does not exist"]


def test_debug_prints_the_traceback(config_file, capsys):
    assert main(["shell", config_file, "--debug", "-c", "get /nope"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1] == "error: get: Node /nope does not exist"
    assert main(["--debug", "shell", config_file, "-c", "get /nope"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_a_config_that_cannot_be_read(tmp_path, capsys):
    assert main(["shell", str(tmp_path / "missing.json"), "-c", "ls"]) == 1
    assert capsys.readouterr().err.startswith("fk: error: Cannot read config file")


def _undeployed(tmp_path: Path, config_file: str) -> Path:
    """A copy of ``config_file`` whose deployment name is a typo: it was never deployed."""
    data = json.loads(Path(config_file).read_text())
    data["deployment-name"] = "devv"
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps(data))
    return typo


def test_a_deployment_that_was_never_deployed_is_an_error_not_a_new_one(config_file, tmp_path, capsys):
    typo = _undeployed(tmp_path, config_file)
    database = tmp_path / "data" / "devv" / "faaskeeper.sqlite3"
    assert main(["shell", str(typo), "-c", "create /a; ls"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"fk: error: No local deployment 'devv': {database} does not exist; "
        f"create it with `fk deploy service --config {typo}`\n"
    )
    assert not database.parent.exists()


def test_connect_to_an_undeployed_config_keeps_the_session(config_file, tmp_path, capsys):
    typo = _undeployed(tmp_path, config_file)
    assert main(["shell", config_file, "-c", f"create -e /mine; connect {typo}; ls"]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        f"error: connect: No local deployment 'devv': {tmp_path}/data/devv/faaskeeper.sqlite3 "
        f"does not exist; create it with `fk deploy service --config {typo}`"
    ]
    assert out.splitlines() == ["Created /mine", "mine"]  # the session, and its ephemeral node, remain
    assert not (tmp_path / "data" / "devv").exists()


def test_provider_option_for_a_config_without_cloud_provider(config_file, tmp_path, capsys):
    data = json.loads(Path(config_file).read_text())
    del data["cloud-provider"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(data))
    assert main(["shell", str(bare), "-c", "ls"]) == 1
    assert "is missing the required key 'cloud-provider'" in capsys.readouterr().err
    assert main(["shell", "--provider", "local", str(bare), "-c", "create /p; ls"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Created /p", "p"]


def test_connect_to_a_bad_config_names_the_file_and_keeps_the_session(config_file, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cloud-provider": "local", "deployment-name": "dev", "verbose": "maybe"}))
    assert main(["shell", config_file, "-c", f"connect {bad}; create /still"]) == 1
    out, err = capsys.readouterr()
    assert err.splitlines() == [f"error: connect: {bad}: Config key 'verbose' must be true or false, got 'maybe'"]
    assert out.splitlines() == ["Created /still"]


def test_a_watch_set_in_one_shell_fires_from_a_change_made_in_another(repl, config_file):
    repl.run("create /shared v1; get -w /shared", "Created /shared", "v1")
    other = fk_shell(config_file, "-c", "set /shared v2")  # another process
    assert (other.returncode, other.stdout) == (0, "Set /shared (version 1)\n")
    repl.expect_re(r"WATCHER: NodeDataChanged /shared \(txn \d+\)$")


def test_a_script_waits_for_a_watch_that_another_shell_fires(repl, config_file):
    repl.run("create /flag off", "Created /flag")
    watcher = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_deploy", "shell", config_file, "-c", "get -w /flag; wait 20; get /flag"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdout is not None
    assert watcher.stdout.readline() == "off\n"  # the watch is set
    repl.run("set /flag on", "Set /flag (version 1)")
    out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert out.splitlines()[0].startswith("WATCHER: NodeDataChanged /flag (txn ")
    assert out.splitlines()[1:] == ["on"]


def test_ctrl_c_ends_a_script(config_file, client):
    script = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_deploy", "shell", config_file, "-c", "create /i; wait 20; create /never"],
        stdout=subprocess.PIPE,
        text=True,
        # As a terminal's foreground job: a test run started in the background inherits SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert script.stdout is not None
    assert script.stdout.readline() == "Created /i\n"
    script.send_signal(signal.SIGINT)
    assert script.wait(20) == 130
    assert client.exists("/i") is not None
    assert client.exists("/never") is None


def test_on_a_real_terminal(config_file, tmp_path):
    history = tmp_path / "history"
    env = {**os.environ, "FK_SHELL_HISTORY": str(history), "TERM": "xterm", "COLUMNS": "120", "LINES": "30"}
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_deploy", "shell", config_file],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    screen = Terminal(master)
    try:
        screen.expect("Type help for the commands")
        screen.expect("(CONNECTED) session:")
        screen.type("create /tty 'typed at a terminal'\r")
        screen.expect("Created /tty")
        screen.type("get /tty\r")
        screen.expect("get /tty")
        screen.expect("typed at a terminal")
        screen.type("get /nope\r")
        screen.expect("error: get: Node /nope does not exist")
        screen.type("quit\r")
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert "create /tty 'typed at a terminal'" in history.read_text()
    assert "\x1b[31merror: get: Node /nope does not exist" in screen.seen  # a terminal gets colours


def test_on_a_real_terminal_a_deployment_that_does_not_exist_ends_the_shell(config_file, tmp_path):
    typo = _undeployed(tmp_path, config_file)
    env = {**os.environ, "FK_SHELL_HISTORY": str(tmp_path / "history"), "TERM": "xterm"}
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_deploy", "shell", str(typo)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    screen = Terminal(master)
    try:
        screen.expect(f"fk: error: No local deployment 'devv': {tmp_path}/data/devv/faaskeeper.sqlite3 does not")
        screen.expect(f"create it with `fk deploy service --config {typo}`")
        assert proc.wait(20) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    assert "Type help" not in plain(screen.seen)
    assert not (tmp_path / "data" / "devv").exists()


class Terminal:
    """The controlling side of a pseudo-terminal; answers the prompt's cursor position requests."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = ""
        self.mark = 0

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def expect(self, text: str, timeout: float = 20.0) -> None:
        """Wait until ``text`` appears after what the last expect matched."""
        deadline = time.monotonic() + timeout
        while text not in plain(self.seen)[self.mark :]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{text!r} did not appear on the terminal:\n{plain(self.seen)[self.mark :]}")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            try:
                chunk = os.read(self.fd, 65536).decode(errors="replace")
            except OSError:  # the shell has exited
                chunk = ""
            if "\x1b[6n" in chunk:
                self.type("\x1b[1;1R")
            self.seen += chunk
        shown = plain(self.seen)
        self.mark = shown.index(text, self.mark) + len(text)


def test_history_path_prefers_the_option_then_the_environment(monkeypatch, tmp_path):
    from faaskeeper_deploy.shell.repl import history_path

    monkeypatch.setenv("FK_SHELL_HISTORY", str(tmp_path / "env"))
    assert history_path(str(tmp_path / "opt")) == tmp_path / "opt"
    assert history_path() == tmp_path / "env"
    monkeypatch.delenv("FK_SHELL_HISTORY")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert history_path() == tmp_path / "xdg" / "faaskeeper" / "history"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history_path() == Path(tmp_path) / ".local" / "share" / "faaskeeper" / "history"
