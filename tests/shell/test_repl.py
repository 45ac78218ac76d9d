"""Every command of fk shell typed at its prompt (prompt_toolkit's pipe input), against a real local deployment."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Stat
from faaskeeper_deploy.shell import session as shell_session
from faaskeeper_deploy.shell.commands import Shell
from faaskeeper_deploy.shell.registry import command_names
from faaskeeper_deploy.shell.session import Console, ShellSession

UP = "\x1b[A"
TAB = "\t"


def test_prompt_shows_provider_deployment_state_and_session(repl):
    short = repl.session.session_id[:8]
    assert f"[fk: local:dev(CONNECTED) session:{short}]" in repl.screen()
    assert repl.quit() == 0
    assert not repl.thread.is_alive()


def test_quoting_and_several_commands_on_a_line(repl, client):
    repl.run('create /a "two words"', "Created /a")
    repl.run("get /a", "two words")
    repl.run("create /b 'semi; colon'; create /c two\\ words; create /d", "Created /b", "Created /c", "Created /d")
    assert client.get_data("/b").data == b"semi; colon"
    assert client.get_data("/c").data == b"two words"
    assert client.get_data("/d").data == b""
    repl.run('set /d "a \\"quoted\\" word"', "Set /d (version 1)")
    assert client.get_data("/d").data == b'a "quoted" word'


def test_create_flags_and_strict_booleans(repl, client):
    session = repl.session.session_id
    repl.run("create -e /eph", "Created /eph")
    repl.run("create --sequential /job- payload")
    repl.expect_re(r"^Created /job-\d{10}$")
    repl.run("create /plain x false false", "Created /plain")
    repl.run("create /upstream x TRUE false", "Created /upstream")
    assert client.exists("/eph").stat.ephemeral_owner == session
    assert client.exists("/plain").stat.ephemeral_owner is None
    assert client.exists("/upstream").stat.ephemeral_owner == session
    hint = ' (quote DATA that has spaces: "two words")'
    repl.run("create /bad x maybe", "error: create: argument EPHEMERAL: expected true or false, got 'maybe'" + hint)
    repl.run("create /bad x false 1", "error: create: argument SEQUENTIAL: expected true or false, got '1'" + hint)
    assert client.exists("/bad") is None


def test_get_prints_text_hex_or_base64_and_the_stat(repl, client):
    client.create("/text", "grüße\tto all".encode())
    client.create("/short", bytes(range(5)))
    client.create("/long", bytes(range(200)))
    repl.run("get /text", "grüße\tto all")
    repl.run("get /short", "hex:0001020304")
    repl.run("get /long")
    repl.expect_re(r"^base64:AAECAwQFBgcICQ[A-Za-z0-9+/=]+$")
    repl.run("create -x /hex 00ff10", "Created /hex")
    assert client.get_data("/hex").data == b"\x00\xff\x10"
    repl.run("create -x /nothex zz", "error: create: DATA is not hexadecimal: 'zz'")
    repl.run("get -s /text", "grüße\tto all", "czxid           = " + str(client.exists("/text").stat.czxid))


def test_set_with_versions(repl, client):
    client.create("/v", b"0")
    repl.run("set /v one", "Set /v (version 1)")
    repl.run("set -v 1 /v two", "Set /v (version 2)")
    repl.run("set /v three 2", "Set /v (version 3)")
    repl.run("set /v four -v 0", "error: set: Update failed: version 0 of /v does not match the node's version")
    repl.run("set /v five -v x", "error: set: argument -v/--version: expected a version (an integer >= -1), got 'x'")
    repl.run("set /v six -v 3 3", "error: set: the version is given twice (as -v and as VERSION)")
    repl.run("set /v seven -v -1", "Set /v (version 4)")
    assert client.get_data("/v").data == b"seven"


def test_sync_waits_for_every_completed_write(repl, client):
    client.create("/synced", b"1")
    repl.run("sync /synced", "Synced /synced")
    repl.run("sync", "Synced /")
    repl.run("get /synced", "1")
    repl.run("sync nope", "error: sync: argument PATH: Path 'nope' must begin with /")


def test_multi_applies_every_operation_or_none(repl, client):
    client.create("/m", b"0")
    repl.run(
        "multi 'create /m/a x' 'create -s /m/q-' 'set -v 0 /m one' 'check /m 1'",
        "Created /m/a",
        "Created /m/q-0000000001",
        "Set /m (version 1)",
        "Checked /m",
    )
    assert client.get_data("/m/a").data == b"x"
    repl.run(
        "multi 'delete /m/a' 'set -v 0 /m two'",
        "error: multi: nothing applied: 'set -v 0 /m two' failed: "
        "Update failed: version 0 of /m does not match the node's version",
    )
    assert client.exists("/m/a") is not None, "the failed transaction deleted nothing"
    repl.run("multi 'ls /m'", "error: multi: 'ls /m' is not an operation of a transaction (check, create, delete, set)")
    repl.run("multi 'delete -r /m'", "error: multi: delete -r cannot be part of a transaction")


def test_delete_with_versions_and_recursively(repl, client):
    client.create("/d", b"")
    repl.run("delete -v 3 /d", "error: delete: Update failed: version 3 of /d does not match the node's version")
    repl.run("delete /d 0", "Deleted /d")
    for path in ("/r", "/r/a", "/r/a/b", "/r/c"):
        client.create(path, b"")
    repl.run("delete /r", "error: delete: Node /r has children")
    repl.run("delete -r /r", "Deleted /r and 3 descendants")
    assert client.exists("/r") is None
    repl.run("delete /nothing", "error: delete: Node /nothing does not exist")
    repl.run("delete -r /nothing", "error: delete: Node /nothing does not exist")


def test_delete_recursively_at_a_wrong_version_deletes_nothing(repl, client):
    for path in ("/r", "/r/a", "/r/b"):
        client.create(path, b"")
    repl.run("delete -r -v 7 /r", "error: delete: Update failed: version 7 of /r does not match the node's version")
    assert [child.path for child in client.get_children("/r")] == ["/r/a", "/r/b"]
    repl.run("delete -r /r 0", "Deleted /r and 2 descendants")
    assert client.exists("/r") is None


def test_ls_plain_long_and_with_a_watch(repl, client):
    client.create("/p", b"")
    client.create("/p/one", b"12345")
    client.create("/p/two", b"", ephemeral=True)
    repl.run("ls /p", "one", "two")
    repl.run("ls -l /p")
    repl.expect_re(r"^TYPE +VERSION +SIZE +CHILDREN +MODIFIED +NAME$")
    repl.expect_re(r"^- +0 +5 +0 +\d{4}-\d\d-\d\dT[\d:.]+Z +one$")
    repl.expect_re(r"^e +0 +0 +0 +\d{4}-\d\d-\d\dT[\d:.]+Z +two$")
    repl.run("ls -w /p", "one", "two")
    client.create("/p/three", b"")
    repl.expect_re(r"WATCHER: NodeChildrenChanged /p \(txn \d+\)$")
    repl.run("ls", "p")


def test_stat_prints_every_field_one_per_line(repl, client):
    client.create("/s", b"abc")
    client.set_data("/s", b"abcd")
    stat = client.exists("/s").stat
    repl.run("stat /s")
    for name, value in stat.to_dict().items():
        if name in ("ctime", "mtime"):
            repl.expect_re(rf"^{name} += {value} \(\d{{4}}-\d\d-\d\dT[\d:.]+Z\)$")
        else:
            repl.expect_line(f"{name:<15} = {'none' if value is None else value}")
    assert len(Stat.__dataclass_fields__) == 11
    repl.run("stat /missing", "error: stat: Node /missing does not exist")


def test_exists_and_its_watch_on_a_missing_node(repl, client):
    repl.run("exists /x", "/x does not exist")
    repl.run("exists -w /x", "/x does not exist")
    client.create("/x", b"")
    repl.expect_re(r"WATCHER: NodeCreated /x \(txn \d+\)$")
    repl.run("exists /x true", "/x exists (version 0, 0 children)")
    client.set_data("/x", b"1")
    repl.expect_re(r"WATCHER: NodeDataChanged /x ")


def test_get_watch_and_wait(repl, client):
    client.create("/w", b"v1")
    repl.run("get -w /w", "v1")
    client.delete("/w")
    repl.expect_re(r"WATCHER: NodeDeleted /w \(txn \d+\)$")
    # That event was printed before the wait was typed: the wait does not return for it.
    repl.run("wait 0.2; create /after-wait", "error: wait: no watch fired within 0.2 s", "Created /after-wait")
    repl.run("exists -w /w; wait 20; create /after-event", "/w does not exist")
    client.create("/w", b"")
    repl.expect_re(r"^WATCHER: NodeCreated /w \(txn \d+\)$")
    repl.expect_line("Created /after-event")
    assert repl.screen().count("WATCHER: NodeCreated /w") == 1


def test_wait_prints_the_event_it_waited_for(config_file, client):
    results, notices = io.StringIO(), io.StringIO()
    console = Console()
    session = ShellSession(Config.from_file(config_file), console, timeout=20)
    session.connect()
    shell = Shell(session, interactive=False)

    def delete_while_waiting() -> None:
        while not session.waiting:
            time.sleep(0.01)
        client.delete("/w")

    try:
        with console.writing_to(results, notices):
            client.create("/w", b"")
            assert shell.execute("get -w /w")
            waiting = threading.Thread(target=delete_while_waiting)
            waiting.start()
            assert shell.execute("wait 20")
            waiting.join()
    finally:
        session.close()
    assert re.fullmatch(r"\nWATCHER: NodeDeleted /w \(txn \d+\)\n", results.getvalue())
    assert notices.getvalue() == ""  # printed once, as what the wait returned


def test_tree(repl, client):
    for path in ("/t", "/t/a", "/t/a/x", "/t/b"):
        client.create(path, b"")
    repl.run("tree /t", "/t", "├── a", "│   └── x", "└── b")
    repl.run("tree -d 1 /t", "/t", "├── a", "└── b")
    repl.run("tree /none", "error: tree: Node /none does not exist")


def test_ephemerals_of_this_session_only(repl, client, monkeypatch):
    repl.run("create -e /e1; create /p; create -e /p/e2", "Created /e1", "Created /p", "Created /p/e2")
    client.create("/theirs", b"", ephemeral=True)
    repl.run("ephemerals; create /marker", "/e1", "/p/e2", "Created /marker")
    assert "/theirs" not in repl.screen()
    repl.run("ephemerals /p; create /marker2", "/p/e2", "Created /marker2")

    def no_provider(name):
        raise ProviderException("system storage is out of reach")

    monkeypatch.setattr(shell_session, "get_provider", no_provider)  # falls back to walking the tree
    assert repl.session.ephemerals() == ["/e1", "/p/e2"]


def test_close_and_connect(repl, client):
    first = repl.session.session_id
    repl.run("create -e /mine", "Created /mine")
    repl.run("close", f"Closed session {first}")
    repl.expect("[fk: local:dev(CLOSED)]")
    assert client.exists("/mine") is None
    repl.run("get /", "error: get: not connected (connect starts a session)")
    repl.run("close", "error: close: not connected")
    repl.send("connect\r")
    match = repl.expect_re(r"^Connected to local:dev: session ([0-9a-f]+)$")
    second = match.group(1)
    assert second != first
    repl.expect(f"[fk: local:dev(CONNECTED) session:{second[:8]}]")


def test_help(repl):
    repl.run("help", "  close       close the session; its ephemeral nodes are deleted")
    repl.expect_line("  quit        close the session and leave the shell (also: exit)")
    repl.expect_line("  wait        wait for a watch to fire after this line was typed, and print it")
    repl.run("help get", "usage: get [-h] [-w] [-s] PATH [WATCH]")
    repl.run("set -h", "usage: set [-h] [-v VERSION] [-x] PATH DATA [VERSION]")
    repl.run("help nope", "error: help: no command 'nope' (help lists the commands)")
    repl.run("help", "help COMMAND, or COMMAND -h, explains one command. quit, exit or Ctrl-D leaves.")


def test_bad_input_gives_one_line_errors(repl):
    every = "the commands are " + ", ".join(command_names())
    assert every.endswith("delete, ephemerals, exists, exit, get, help, ls, multi, quit, set, stat, sync, tree, wait")
    repl.run("frobnicate /a", f"error: frobnicate: unknown command; {every}")
    repl.run("craete /a", "error: craete: unknown command; did you mean 'create'?")
    repl.run("sta /a", "error: sta: unknown command; did you mean 'stat'?")
    # Never a guess that would end the session or lose data if taken.
    repl.run("clear", f"error: clear: unknown command; {every}")
    repl.run("delet /a", f"error: delet: unknown command; {every}")
    repl.run("quite", f"error: quite: unknown command; {every}")
    repl.run("get --bogus /", "error: get: unrecognized arguments: --bogus")
    repl.run("get", "error: get: the following arguments are required: PATH")
    repl.run("get a/b", "error: get: argument PATH: Path 'a/b' must begin with /")
    repl.run("ls /a//b", "error: ls: argument PATH: Path '/a//b' contains an empty component")
    repl.run("delete /", "error: delete: argument PATH: The root node / cannot be changed this way")
    repl.run("create /q 'open", 'error: cannot read "create /q \'open": no closing quotation')
    repl.run("tree -d 0", "error: tree: argument -d/--depth: expected a positive integer, got '0'")
    repl.run("create /ok", "Created /ok")  # the shell goes on
    assert "Traceback" not in repl.screen()


def test_watch_event_prints_while_a_line_is_being_typed(repl, client):
    client.create("/watched", b"v1")
    repl.run("get -w /watched", "v1")
    repl.send("create /typed")  # no Enter yet
    repl.expect("create /typed")
    client.set_data("/watched", b"v2")
    repl.expect_re(r"WATCHER: NodeDataChanged /watched \(txn \d+\)$")
    repl.expect("create /typed")  # the prompt is drawn again below the event, the typed text kept
    repl.send(" value\r")
    repl.expect_line("Created /typed")
    assert client.get_data("/typed").data == b"value"


def test_tab_completes_node_paths_read_from_the_deployment(repl, client):
    client.create("/alpha", b"A")
    client.create("/alpha/inner", b"I")
    client.create("/beta", b"B")
    repl.send("get /al")
    repl.expect("alpha")  # completions are offered while typing
    repl.send(TAB + "/i")
    repl.expect("inner")
    repl.send(TAB + "\r")
    repl.expect_line("I")  # the data of /alpha/inner: both tabs completed
    repl.send("cre")
    repl.expect("create")
    repl.send(TAB + " /gamma\r")
    repl.expect_line("Created /gamma")


def test_history_is_kept_in_a_file(repl_factory, tmp_path):
    from prompt_toolkit.history import FileHistory

    path = tmp_path / "history"
    first = repl_factory(FileHistory(str(path)))
    first.run("create /h remembered", "Created /h")
    first.run("get /h", "remembered")
    assert first.quit() == 0
    assert "get /h" in path.read_text()

    second = repl_factory(FileHistory(str(path)))
    second.send(UP + UP + "\r")  # the command before quit
    second.expect_line("remembered")


def test_exit_and_end_of_input_leave_the_shell(repl_factory):
    first = repl_factory()
    first.send("exit\r")
    first.thread.join(10)
    assert first.status == 0
    second = repl_factory()
    second.pipe.close()
    second.thread.join(10)
    assert second.status == 0


def _restore_parser_state() -> None:
    raise AttributeError("'_StoreAction' object has no attribute 'save_nargs'")


def _interrupted_while_parsing() -> None:
    """Ctrl-C lands in argparse, whose clean-up then fails on the state the interrupt left half set."""
    try:
        raise KeyboardInterrupt
    finally:
        _restore_parser_state()


def test_ctrl_c_whose_clean_up_failed_still_ends_a_script_or_the_command(config_file):
    results, notices = io.StringIO(), io.StringIO()
    console = Console()
    session = ShellSession(Config.from_file(config_file), console, timeout=20)
    with console.writing_to(results, notices):
        with pytest.raises(KeyboardInterrupt):
            Shell(session, interactive=False).call("wait", _interrupted_while_parsing)
        assert not Shell(session, interactive=True).call("wait", _interrupted_while_parsing)
    assert results.getvalue() == "error: wait: interrupted\n"
