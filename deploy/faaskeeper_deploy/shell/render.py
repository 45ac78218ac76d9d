"""How ``fk shell`` shows nodes: data as text, hex or base64; stats one field a line; listings; trees."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from faaskeeper.node import Node, Stat
from faaskeeper.watch import WatchedEvent

#: Binary values up to this many bytes print as hex; longer ones as base64.
HEX_LIMIT = 64
#: Characters that printable text may hold besides str.isprintable() ones.
_WHITESPACE = frozenset("\n\r\t")


def render_data(data: bytes | None) -> str:
    """``data`` as text when it is printable UTF-8, else ``hex:...`` (short) or ``base64:...`` (long)."""
    if not data:
        return ""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(ch.isprintable() or ch in _WHITESPACE for ch in text):
        return text
    if len(data) <= HEX_LIMIT:
        return "hex:" + data.hex()
    return "base64:" + base64.b64encode(data).decode("ascii")


def render_time(millis: int) -> str:
    """Milliseconds since the epoch as an ISO 8601 UTC time."""
    moment = datetime.fromtimestamp(millis / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: The stat fields that hold a transaction id.
TXN_FIELDS = frozenset({"czxid", "mzxid", "pzxid"})


def render_stat(stat: Stat, txn: Callable[[int], str] = str) -> list[str]:
    """Every field of ``stat``, one ``name = value`` line each, in ZooKeeper's order; ``txn`` shows
    the transaction ids (as the deployment's provider does)."""
    fields = stat.to_dict()
    width = max(len(name) for name in fields)
    lines = []
    for name, value in fields.items():
        if name in TXN_FIELDS:
            shown = txn(value)
        elif name in ("ctime", "mtime"):
            shown = f"{value} ({render_time(value)})"
        elif name == "ephemeral_owner":
            shown = value if value is not None else "none"
        else:
            shown = str(value)
        lines.append(f"{name:<{width}} = {shown}")
    return lines


def render_listing(children: Sequence[Node]) -> list[str]:
    """``ls -l``: a header, then per child its type, version, size, children, mtime and name."""
    rows = [("TYPE", "VERSION", "SIZE", "CHILDREN", "MODIFIED", "NAME")]
    for child in children:
        stat = child.stat
        rows.append(
            (
                "e" if child.ephemeral else "-",
                str(stat.version),
                str(stat.data_length),
                str(stat.num_children),
                render_time(stat.mtime),
                child.path.rsplit("/", 1)[1],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(w) if i in (1, 2, 3) else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]))
    return lines


def render_tree(root: str, children_of: dict[str, list[str]]) -> list[str]:
    """The subtree of ``root`` drawn with box characters; ``children_of`` maps paths to child names."""
    lines = [root]

    def draw(path: str, indent: str) -> None:
        names = children_of.get(path, [])
        for i, name in enumerate(names):
            last = i == len(names) - 1
            lines.append(f"{indent}{'└── ' if last else '├── '}{name}")
            child = f"/{name}" if path == "/" else f"{path}/{name}"
            draw(child, indent + ("    " if last else "│   "))

    draw(root, "")
    return lines


def render_event(event: WatchedEvent, txn: Callable[[int], str] = str) -> str:
    """One line for a fired watch; ``txn`` shows its transaction id."""
    return f"WATCHER: {event.type} {event.path} (txn {txn(event.timestamp)})"
