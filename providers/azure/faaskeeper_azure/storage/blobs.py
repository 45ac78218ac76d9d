"""Blob Storage helpers: the deployment's blob container, and how a node blob holds its metadata.

A blob is ``FKN1``, the length of the JSON that follows (4 bytes, big-endian),
``{"stat": {...}, "children": [...], "epoch": [...]}`` (with ``"txn": [id, sentinel]``, the footprint
of a write that changed other nodes with it), then the node's data, so one GET returns
them together, and a ranged GET of the first bytes the metadata alone. Children lists of large
directories can be long, so they never go into the blob's user metadata (8 KB).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Footprint, Node, Stat, decode_metadata, encode_metadata
from faaskeeper_azure.errors import Refused, azure_errors, is_conflict, is_missing
from faaskeeper_azure.settings import AzureSettings

MAGIC = b"FKN1"
_PREFIX = len(MAGIC) + 4
#: The blob of a node: ``nodes`` for the root, ``nodes/a/b`` for ``/a/b`` (no blob name ends with '/').
BLOB_PREFIX = "nodes"


def blob_name(path: str) -> str:
    return BLOB_PREFIX if path == "/" else BLOB_PREFIX + path


def header(stat: Stat, children: Sequence[str], epoch: Iterable[str] = (), footprint: Footprint | None = None) -> bytes:
    meta = encode_metadata(stat, children, epoch, footprint).encode()
    return MAGIC + len(meta).to_bytes(4, "big") + meta


def header_length(prefix: bytes) -> int:
    """The length of the header that ``prefix`` (at least 8 bytes of a blob) begins."""
    if len(prefix) < _PREFIX or not prefix.startswith(MAGIC):
        raise ProviderException("user storage holds a blob that is not a FaaSKeeper node")
    return _PREFIX + int.from_bytes(prefix[len(MAGIC) : _PREFIX], "big")


def decode(path: str, body: bytes, *, with_data: bool = True) -> Node:
    """The node a blob's body (or, without data, a prefix holding its whole header) holds."""
    end = header_length(body)
    if len(body) < end:
        raise ProviderException(f"the user storage blob of {path} is truncated")
    return decode_metadata(path, body[end:] if with_data else None, body[_PREFIX:end].decode())


def create_blob_container(settings: AzureSettings) -> None:
    """The deployment's blob container, if missing."""
    name = settings.names.blob_container
    with azure_errors(f"create the blob container {name}"):
        try:
            settings.blob_service().create_container(name)
        except Refused as err:
            if not is_conflict(err):
                raise


def delete_blob_container(settings: AzureSettings) -> bool:
    """Delete the deployment's blob container and its blobs; False if there was none."""
    name = settings.names.blob_container
    with azure_errors(f"delete the blob container {name}"):
        try:
            settings.blob_service().delete_container(name)
        except Refused as err:
            if is_missing(err):
                return False
            raise
    return True
