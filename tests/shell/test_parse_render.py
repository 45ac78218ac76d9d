"""What fk shell reads (splitting, quoting, strict arguments) and how it shows nodes."""

from __future__ import annotations

import argparse
import random
import shlex

import pytest

from faaskeeper.node import Node, Stat
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_deploy.shell.parse import (
    boolean,
    data_bytes,
    posix_words,
    seconds,
    split_commands,
    split_words,
    version,
)
from faaskeeper_deploy.shell.render import (
    render_data,
    render_event,
    render_listing,
    render_stat,
    render_time,
    render_tree,
)
from faaskeeper_deploy.shell.session import ShellError


@pytest.mark.parametrize(
    ("text", "commands"),
    [
        ("get /a", ["get /a"]),
        ("create /a x; get /a", ["create /a x", " get /a"]),
        ("a\nb;;c\n", ["a", "b", "c"]),
        ("create /a 'x; y'; ls", ["create /a 'x; y'", " ls"]),
        ('create /a "x; \\" y"; ls', ['create /a "x; \\" y"', " ls"]),
        ("create /a x\\; y", ["create /a x\\; y"]),
        ("create /a 'line\nnext'", ["create /a 'line\nnext'"]),
        ("  ;  ", []),
    ],
)
def test_split_commands(text, commands):
    assert split_commands(text) == commands


def test_split_words_quotes_as_a_shell_does():
    assert split_words('create /a "two words"') == ["create", "/a", "two words"]
    assert split_words("create /a 'it''s'") == ["create", "/a", "its"]
    assert split_words("create /a two\\ words") == ["create", "/a", "two words"]
    assert split_words("create /a x\\; y") == ["create", "/a", "x;", "y"]
    assert split_words("create /a ''") == ["create", "/a", ""]
    assert split_words("  # a comment") == []
    with pytest.raises(ShellError, match="no closing quotation"):
        split_words('create /a "open')


def test_split_words_reads_what_shlex_reads():
    """Seeded random lines of quotes, escapes and blanks: the same words, or the same error, as shlex."""
    rng = random.Random(6)
    alphabet = ["a", "b", " ", "\t", "\n", "'", '"', "\\", "#", "$", ";", "é"]
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        try:
            expected: list[str] | str = shlex.split(text)
        except ValueError as err:
            expected = str(err)
        try:
            found: list[str] | str = posix_words(text)
        except ValueError as err:
            found = str(err)
        assert found == expected, text


@pytest.mark.timeout(10)  # shlex took over a minute on this input; the splitter is linear
def test_split_words_reads_a_value_of_several_mebibytes():
    value = 'quoted \\"word\\" ' * (2 * 1024 * 1024 // 16)
    words = split_words(f"create /big \"{value}\" 'single quoted' plain\\ escaped")
    assert words == ["create", "/big", value.replace('\\"', '"'), "single quoted", "plain escaped"]


def test_booleans_are_strict():
    assert boolean("true") is True
    assert boolean("False") is False
    for text in ("1", "yes", "0", "", "falsy", "t"):
        with pytest.raises(argparse.ArgumentTypeError, match="expected true or false"):
            boolean(text)


def test_versions_and_seconds():
    assert version("-1") == -1
    assert version("7") == 7
    for text in ("-2", "1.5", "x", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            version(text)
    assert seconds("0.5") == 0.5
    for text in ("0", "-1", "nan", "inf", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            seconds(text)


def test_data_bytes():
    assert data_bytes(None, False) == b""
    assert data_bytes("grüße", False) == "grüße".encode()
    assert data_bytes("00 ff", True) == b"\x00\xff"
    assert data_bytes("hex:0a", True) == b"\n"
    with pytest.raises(ShellError, match="not hexadecimal"):
        data_bytes("0g", True)


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (None, ""),
        (b"", ""),
        (b"hello world", "hello world"),
        ("ünïcode\ttab\nline".encode(), "ünïcode\ttab\nline"),
        (b"\x00\x01bin", "hex:000162696e"),
        (b"\xff" * 64, "hex:" + "ff" * 64),
        (b"\xff" * 65, "base64:" + "/" * 86 + "8="),
        (b"bell\x07", "hex:62656c6c07"),
    ],
)
def test_render_data(data, shown):
    assert render_data(data) == shown


def test_render_stat_has_every_field_one_per_line():
    stat = Stat(czxid=1, mzxid=2, pzxid=3, ctime=0, mtime=1000, version=4, ephemeral_owner="abc", data_length=5)
    stat_lines = render_stat(stat)
    assert stat_lines == [
        "czxid           = 1",
        "mzxid           = 2",
        "pzxid           = 3",
        "ctime           = 0 (1970-01-01T00:00:00.000Z)",
        "mtime           = 1000 (1970-01-01T00:00:01.000Z)",
        "version         = 4",
        "cversion        = 0",
        "aversion        = 0",
        "ephemeral_owner = abc",
        "data_length     = 5",
        "num_children    = 0",
    ]
    assert render_time(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    shown = render_stat(stat, txn=lambda txn: f"#{txn}")
    assert shown[:4] == ["czxid           = #1", "mzxid           = #2", "pzxid           = #3", stat_lines[3]]
    assert shown[4:] == stat_lines[4:], "only transaction ids are shown the provider's way"


def test_render_listing_and_tree_and_event():
    children = [
        Node("/p/a", stat=Stat(version=12, data_length=300, num_children=2, mtime=0)),
        Node("/p/eph", stat=Stat(ephemeral_owner="s", mtime=0)),
    ]
    assert render_listing(children) == [
        "TYPE  VERSION  SIZE  CHILDREN  MODIFIED                  NAME",
        "-          12   300         2  1970-01-01T00:00:00.000Z  a",
        "e           0     0         0  1970-01-01T00:00:00.000Z  eph",
    ]
    tree = render_tree("/", {"/": ["a", "b"], "/a": ["x", "y"], "/a/x": ["deep"]})
    assert tree == ["/", "├── a", "│   ├── x", "│   │   └── deep", "│   └── y", "└── b"]
    event = WatchedEvent(WatchEventType.NODE_DELETED, "/a", 42)
    assert render_event(event) == "WATCHER: NodeDeleted /a (txn 42)"
    assert render_event(event, lambda txn: str(txn - 40)) == "WATCHER: NodeDeleted /a (txn 2)"
