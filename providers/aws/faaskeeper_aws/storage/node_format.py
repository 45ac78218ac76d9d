"""How user storage holds a node's metadata: a compact header before (S3) or beside (DynamoDB)
the data, so one GET returns data, stat, children and epoch together.

A header is ``FKN1``, the length of the JSON that follows (4 bytes, big-endian), then
``{"stat": {...}, "children": [...], "epoch": [...]}``, with ``"txn": [id, sentinel]`` after a
write that changed other nodes with it (its footprint). Children lists of large directories
can be long, so they never go into S3's user metadata (2 KB).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Footprint, Node, Stat, decode_metadata, encode_metadata

MAGIC = b"FKN1"
_PREFIX = len(MAGIC) + 4


def header(stat: Stat, children: Sequence[str], epoch: Iterable[str] = (), footprint: Footprint | None = None) -> bytes:
    return header_of(encode_metadata(stat, children, epoch, footprint))


def header_of(metadata: str) -> bytes:
    """The header of metadata already encoded by :func:`faaskeeper.node.encode_metadata`."""
    meta = metadata.encode()
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
    return decode_metadata(path, body[end:] if with_data else None, meta)
