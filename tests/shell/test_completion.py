"""Completion in fk shell: commands, flags, and node paths read from a real local deployment."""

from __future__ import annotations

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from faaskeeper.config import Config
from faaskeeper_deploy.shell.completion import ShellCompleter, session_children, split_partial, unquote_partial
from faaskeeper_deploy.shell.session import Console, ShellSession


@pytest.fixture
def session(config_file):
    s = ShellSession(Config.from_file(config_file), Console(), timeout=20)
    s.connect()
    yield s
    s.close()


@pytest.fixture
def complete(session):
    completer = ShellCompleter(session_children(session))

    def run(text: str) -> list[str]:
        completer.forget()
        found = completer.get_completions(Document(text), CompleteEvent(completion_requested=True))
        return [c.text for c in found]

    return run


def test_node_paths_come_from_the_deployment(session, complete):
    client = session.require()
    for path in ("/alpha", "/alps", "/beta", "/alpha/one", "/alpha/two", "/with space"):
        client.create(path, b"")
    assert complete("get /") == ["/alpha", "/alps", "/beta", "'/with space'"]
    assert complete("get /al") == ["/alpha", "/alps"]
    assert complete("ls -l /alpha/") == ["/alpha/one", "/alpha/two"]
    assert complete("delete -r /alpha/t") == ["/alpha/two"]
    assert complete("get ") == ["/alpha", "/alps", "/beta", "'/with space'"]
    assert complete("get '/with") == ["'/with space'"]
    assert complete("get /nothing/") == []
    assert complete("get /a//") == []
    assert complete('create /x "data"; get /b') == ["/beta"]
    assert complete("create -e /al") == ["/alpha", "/alps"]
    assert complete("ephemerals /al") == ["/alpha", "/alps"]


@pytest.mark.parametrize(
    "text",
    [
        "create /alpha ",  # DATA
        "create /alpha data ",  # EPHEMERAL
        "set /alpha ",  # DATA
        "set /alpha data ",  # VERSION
        "set -v ",  # -v's VERSION
        "delete /alpha ",  # VERSION
        "delete --version ",
        "tree -d ",  # DEPTH
        "get /alpha ",  # WATCH
        "stat /alpha ",  # nothing more
        "wait ",  # SECONDS
        "connect ",  # CONFIG
    ],
)
def test_no_node_paths_where_an_argument_is_not_a_path(session, complete, text):
    session.require().create("/alpha", b"")
    assert complete(text) == []
    assert complete(text + "/") == []


def test_node_paths_after_flags_and_their_values(session, complete):
    session.require().create("/alpha", b"")
    assert complete("set -v 3 /") == ["/alpha"]
    assert complete("delete -r -v 0 /") == ["/alpha"]
    assert complete("tree -d 2 /") == ["/alpha"]
    assert complete("create -- /") == ["/alpha"]


def test_a_new_node_is_offered_once_the_cache_is_forgotten(session):
    completer = ShellCompleter(session_children(session))
    event = CompleteEvent(completion_requested=True)
    assert [c.text for c in completer.get_completions(Document("get /n"), event)] == []
    session.require().create("/new", b"")
    completer.forget()
    assert [c.text for c in completer.get_completions(Document("get /n"), event)] == ["/new"]


def test_commands_flags_and_help_topics(complete):
    assert complete("") == [
        *("close", "connect", "create", "delete", "ephemerals", "exists", "exit", "get"),
        *("help", "ls", "multi", "quit", "set", "stat", "sync", "tree", "wait"),
    ]
    assert complete("cr") == ["create"]
    assert complete("e") == ["ephemerals", "exists", "exit"]
    assert complete("get -") == ["--help", "--stat", "--watch", "-h", "-s", "-w"]
    assert complete("delete --r") == ["--recursive"]
    assert complete("help tr") == ["tree"]
    assert complete("connect ") == []
    assert complete("nosuch -") == []


def test_nothing_without_a_session(session, complete):
    session.close()
    assert complete("get /") == []
    assert complete("g") == ["get"]


@pytest.mark.parametrize(
    ("text", "words", "partial"),
    [
        ("", [], ""),
        ("get", [], "get"),
        ("get /a", ["get"], "/a"),
        ("get /a ", ["get", "/a"], ""),
        ('create /a "two wo', ["create", "/a"], '"two wo'),
        ("create /a x; ls /p", ["ls"], "/p"),
        ("set /a 'x; y' /b", ["set", "/a", "x; y"], "/b"),
    ],
)
def test_split_partial(text, words, partial):
    assert split_partial(text) == (words, partial)


def test_unquote_partial():
    assert unquote_partial("'/with sp") == "/with sp"
    assert unquote_partial('"/a') == "/a"
    assert unquote_partial("/with\\ sp") == "/with sp"
    assert unquote_partial("") == ""
