"""How user storage holds a node's metadata: a compact header before (S3) or beside (DynamoDB)
the data, so one GET returns data, stat, children and epoch together.

A header is ``FKN1``, the length of the JSON that follows (4 bytes, big-endian), then
``{"stat": {...}, "children": [...], "epoch": [...]}``. Children lists of large directories
can be long, so they never go into S3's user metadata (2 KB).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Node, Stat

MAGIC = b"FKN1"
_PREFIX = len(MAGIC) + 4


def metadata(stat: Stat, children: Sequence[str], epoch: Iterable[str] = ()) -> str:
    """The JSON of a node's metadata (also the DynamoDB user storage's ``meta`` attribute)."""
    return json.dumps(
        {"stat": stat.to_dict(), "children": list(children), "epoch": sorted(epoch)},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def node_from_metadata(path: str, data: bytes | None, meta: str) -> Node:
    parsed: dict[str, Any] = json.loads(meta)
    return Node(
        path=path,
        data=data,
        stat=Stat.from_dict(parsed["stat"]),
        children=list(parsed["children"]),
        epoch=frozenset(parsed.get("epoch", ())),
    )


def header(stat: Stat, children: Sequence[str], epoch: Iterable[str] = ()) -> bytes:
    meta = metadata(stat, children, epoch).encode()
    return MAGIC + len(meta).to_bytes(4, "big") + meta


def header_length(prefix: bytes) -> int:
    """The length of the header that ``prefix`` (at least 8 bytes of an object) begins."""
    if len(prefix) < _PREFIX or not prefix.startswith(MAGIC):
        raise ProviderException("user storage holds an object that is not a FaaSKeeper node")
    return _PREFIX + int.from_bytes(prefix[len(MAGIC) : _PREFIX], "big")


def decode(path: str, body: bytes, *, with_data: bool = True) -> Node:
    """The node an object's body (or, without data, a prefix holding its whole header) holds."""
    end = header_length(body)
    if len(body) < end:
        raise ProviderException(f"user storage object of {path} is truncated")
    meta = body[_PREFIX:end].decode()
    return node_from_metadata(path, body[end:] if with_data else None, meta)
