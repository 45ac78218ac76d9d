"""User storage in Firestore (``user-storage: key-value``): ``data/<percent-encoded path>``.

Fields: ``meta`` (stat, children and epoch as :func:`faaskeeper.node.encode_metadata` writes
them) and ``data`` (bytes). A read is one document read; a read without data asks for ``meta``
only (a projection: still one billed read, but the data does not travel).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from google.cloud.firestore_v1.document import DocumentReference

from faaskeeper.api.storage import UserStorage
from faaskeeper.node import Footprint, Node, Stat, decode_metadata, encode_metadata
from faaskeeper_gcp.errors import NotFound
from faaskeeper_gcp.settings import GcpSettings
from faaskeeper_gcp.storage.firestore import Documents, document_id


class FirestoreUserStorage(UserStorage):
    def __init__(self, settings: GcpSettings, documents: Documents | None = None) -> None:
        self._docs = documents or Documents(settings)
        self._data = self._docs.collection("data")

    def _ref(self, path: str) -> DocumentReference:
        return self._data.document(document_id(path))

    def ensure_root(self) -> None:
        self._docs.create(self._ref("/"), {"meta": encode_metadata(Stat(), ()), "data": b""}, "create the root node")

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        ref = self._ref(path)
        self._docs.meter.add("firestore", "reads")
        fields = None if with_data else ["meta"]
        snapshot = self._docs.call("read node", lambda: ref.get(field_paths=fields))
        if not snapshot.exists:
            return None
        data = bytes(snapshot.get("data")) if with_data else None
        return decode_metadata(path, data, str(snapshot.get("meta")))

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        wanted = list(paths)
        snapshots = self._docs.get_all([self._ref(p) for p in wanted], "read nodes")
        return [
            decode_metadata(p, bytes(s.get("data")), str(s.get("meta"))) if s.exists else None
            for p, s in zip(wanted, snapshots, strict=True)
        ]

    def write(self, node: Node) -> None:
        fields = {
            "meta": encode_metadata(node.stat, node.children or (), node.epoch, node.footprint),
            "data": bytes(node.data or b""),
        }
        self._docs.set(self._ref(node.path), fields, "write node")

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        """Replace the metadata in place; a missing node stays missing, as in the local provider."""
        ref = self._ref(path)

        def update() -> bool:
            try:
                ref.update({"meta": encode_metadata(stat, children, footprint=footprint)})
            except NotFound:
                return False
            return True

        if self._docs.call("update node metadata", update):
            self._docs.meter.add("firestore", "writes")

    def delete(self, path: str) -> None:
        self._docs.delete(self._ref(path), "delete node")
