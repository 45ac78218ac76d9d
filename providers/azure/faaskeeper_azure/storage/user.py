"""User storage, the backend chosen by ``user-storage``: Blob Storage (``"persistent"``, one blob
per node, :class:`BlobUserStorage`) or Cosmos DB items (``"key-value"``, :class:`CosmosUserStorage`)."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from azure.core import MatchConditions

from faaskeeper.api.storage import UserStorage
from faaskeeper.config import StorageType
from faaskeeper.node import Footprint, Node, Stat, decode_metadata, encode_metadata
from faaskeeper_azure.errors import Refused, azure_errors, is_conflict, is_missing
from faaskeeper_azure.settings import AzureSettings
from faaskeeper_azure.storage.blobs import blob_name, decode, header, header_length
from faaskeeper_azure.storage.cosmos import Container, Document, cycles, exhausted, item_id

#: Bytes fetched by a read without data: the header of any node with a few hundred children.
HEADER_RANGE = 16 * 1024
#: Reads of ``read_many`` in flight at once.
_READERS = 16


def user_storage(settings: AzureSettings, kind: StorageType) -> BlobUserStorage | CosmosUserStorage:
    """The user storage of a deployment whose ``user-storage`` is ``kind``."""
    return BlobUserStorage(settings) if kind is StorageType.PERSISTENT else CosmosUserStorage(settings)


def _many(storage: UserStorage, paths: Iterable[str]) -> list[Node | None]:
    wanted = list(paths)
    if len(wanted) <= 1:
        return [storage.read(p) for p in wanted]
    with ThreadPoolExecutor(max_workers=min(_READERS, len(wanted))) as pool:
        return list(pool.map(storage.read, wanted))


class BlobUserStorage(UserStorage):
    """One blob per node in the deployment's blob container (:mod:`faaskeeper_azure.storage.blobs`).

    A read is one GET; a read without data is one ranged GET of the first 16 KB, which holds the
    metadata unless a directory's children list is longer (then one more ranged GET, conditional
    on the blob's ETag, fetches the rest). Metadata updates rewrite the blob conditional on the
    ETag it was read with."""

    def __init__(self, settings: AzureSettings) -> None:
        self._container = settings.blob_service().get_container_client(settings.names.blob_container)

    def ensure_root(self) -> None:
        with azure_errors("create the root node"):
            try:
                self._container.upload_blob(blob_name("/"), header(Stat(), ()), overwrite=False)
            except Refused as err:
                if not is_conflict(err):
                    raise

    def _get(
        self, path: str, offset: int = 0, length: int | None = None, etag: str | None = None
    ) -> tuple[bytes, str] | None:
        """The blob's bytes (or the range asked for) and ETag; None if there is none (or, with
        ``etag``, if it changed since)."""
        name = blob_name(path)
        try:
            if etag is None:
                stream = self._container.download_blob(name, offset=offset, length=length)
            else:
                stream = self._container.download_blob(
                    name, offset=offset, length=length, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except Refused as err:
            if is_missing(err) or (etag and is_conflict(err)):
                return None
            raise
        return stream.readall(), str(stream.properties.etag)

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        with azure_errors("read node"):
            if with_data:
                found = self._get(path)
                return decode(path, found[0]) if found is not None else None
            for _ in cycles():
                found = self._get(path, 0, HEADER_RANGE)
                if found is None:
                    return None
                prefix, etag = found
                end = header_length(prefix)
                if len(prefix) >= end:
                    return decode(path, prefix[:end], with_data=False)
                rest = self._get(path, len(prefix), end - len(prefix), etag)
                if rest is not None:
                    return decode(path, prefix + rest[0], with_data=False)
        raise exhausted("read node")

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        return _many(self, paths)

    def write(self, node: Node) -> None:
        body = header(node.stat, node.children or (), node.epoch, node.footprint) + bytes(node.data or b"")
        with azure_errors("write node"):
            self._container.upload_blob(blob_name(node.path), body, overwrite=True)

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        """Read the blob, write it back with the new metadata and the same data, conditional on
        its ETag (only the distributor writes, in order; the condition guards a stale one)."""
        with azure_errors("update node metadata"):
            for _ in cycles():
                found = self._get(path)
                if found is None:
                    return  # a missing node stays missing, as in the local provider
                body, etag = found
                data = body[header_length(body) :]
                try:
                    self._container.upload_blob(
                        blob_name(path),
                        header(stat, children, footprint=footprint) + data,
                        overwrite=True,
                        etag=etag,
                        match_condition=MatchConditions.IfNotModified,
                    )
                    return
                except Refused as err:
                    if is_missing(err):
                        return
                    if not is_conflict(err):
                        raise
        raise exhausted("update node metadata")

    def delete(self, path: str) -> None:
        with azure_errors("delete node"):
            try:
                self._container.delete_blob(blob_name(path))
            except Refused as err:
                if not is_missing(err):
                    raise


def _node_document(path: str, meta: str, data: bytes) -> Document:
    # Each node is a logical partition of its own: user nodes are never written together.
    key = item_id(path)
    return {"id": key, "pk": key, "path": path, "meta": meta, "data": base64.b64encode(data).decode()}


class CosmosUserStorage(UserStorage):
    """One item per node in the deployment's ``nodes`` container, its own partition: ``meta``
    (stat, children and epoch as :func:`faaskeeper.node.encode_metadata` writes them) and ``data``
    (base64). A read is one point read."""

    def __init__(self, settings: AzureSettings, container: Container | None = None) -> None:
        self._items = container or Container(settings, settings.names.user_container)

    def ensure_root(self) -> None:
        self._items.create(_node_document("/", encode_metadata(Stat(), ()), b""), "create the root node")

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        key = item_id(path)
        found = self._items.read(key, key, "read node")
        if found is None:
            return None
        return decode_metadata(path, base64.b64decode(found["data"]) if with_data else None, str(found["meta"]))

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        return _many(self, paths)

    def write(self, node: Node) -> None:
        meta = encode_metadata(node.stat, node.children or (), node.epoch, node.footprint)
        self._items.upsert(_node_document(node.path, meta, bytes(node.data or b"")), "write node")

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        """Replace the metadata conditional on the item read; a missing node stays missing."""
        key = item_id(path)
        for _ in cycles():
            found = self._items.read(key, key, "update node metadata")
            if found is None:
                return
            changed = {**found, "meta": encode_metadata(stat, children, footprint=footprint)}
            if self._items.replace(changed, found["_etag"], "update node metadata") is not None:
                return
        raise exhausted("update node metadata")

    def delete(self, path: str) -> None:
        key = item_id(path)
        self._items.delete(key, key, "delete node")
