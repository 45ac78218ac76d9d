"""User storage in DynamoDB and S3 (``user-storage: hybrid``): a node's item in the data table
holds the whole node while it is small, and names an S3 object holding it when it is not.

Two forms of a node's item (key ``path``), chosen each time the node is written:

* inline: ``data`` (B) and ``meta`` (S, :func:`faaskeeper.node.encode_metadata`), as the
  ``key-value`` storage keeps them, while the item's encoded size is at most :data:`INLINE_LIMIT`;
* in S3: ``object`` (S), the key of an object holding the node as the ``persistent`` storage
  does (:mod:`faaskeeper_aws.storage.node_format`: header, then data).

A read is one strongly consistent GetItem, and one GET more for a node in S3. An object is
written once, under a key of its own (``large/<random>/<path>``), and never changed: the item
is the only thing that says which version is current. So a write stores the new form first
(the object, then the item that names it) and only then deletes the object the old item named.
A reader that finds an item naming an object always gets that version of the node, or, when a
later write has deleted that object meanwhile, no object; it then reads the item again. A reader
never sees an item without its object, half of two versions, or a version older than the item
it read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from faaskeeper.api.storage import UserStorage
from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Footprint, Node, Stat, encode_metadata
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.dynamodb import (
    ATTEMPTS,
    Item,
    S,
    dynamodb,
    expression,
    is_condition_failure,
)
from faaskeeper_aws.storage.key_value import inline_node, items_by_path, put_root_item, set_metadata
from faaskeeper_aws.storage.node_format import decode, header_of

#: The largest item kept inline, in bytes as DynamoDB sizes items (attribute names and values).
#: DynamoDB's limit is 400 KB, but cost decides far below it: an item is billed a write unit per
#: KB written and a read unit per 4 KB read, an object a PUT (8 write units' price) and a GET
#: (3.2 read units') plus a small item naming it. Up to 8 KB inline is cheaper for both writes
#: and reads; a node grows out of the item on the write that makes it larger than this, so the
#: children list a metadata update adds never pushes an item near 400 KB.
INLINE_LIMIT = 8 * 1024
#: Object keys of nodes in S3: ``large/<random>`` + the path; the random part makes each version
#: of a node an object of its own.
KEY_PREFIX = "large/"
_MISSING = ("NoSuchKey", "404")
_READERS = 16
_NAMES = {"path": "path", "data": "data", "meta": "meta", "object": "object"}


def item_size(path: str, data: bytes, meta: str) -> int:
    """The size DynamoDB counts for an inline item: each attribute's name and value."""
    return len("path") + len(path.encode()) + len("data") + len(data) + len("meta") + len(meta.encode())


def new_object_key(path: str) -> str:
    return f"{KEY_PREFIX}{uuid.uuid4().hex}{path}"


class HybridUserStorage(UserStorage):
    def __init__(self, settings: AwsSettings) -> None:
        self._ddb = dynamodb(settings)
        self._table = settings.names.data_table
        self._s3 = MeteredClient(settings.client("s3"), "s3")
        self._bucket = settings.data_bucket

    def ensure_root(self) -> None:
        put_root_item(self._ddb, self._table)

    # Reads

    def _get_item(self, path: str, *, with_data: bool) -> Item | None:
        params: dict[str, Any] = {}
        if not with_data:  # the data, if inline, stays behind; an object's key comes along
            params = {
                "ProjectionExpression": "#meta, #object",
                "ExpressionAttributeNames": expression(_NAMES, "#meta, #object"),
            }
        item = self._ddb.get_item(TableName=self._table, Key={"path": S(path)}, ConsistentRead=True, **params)
        found = item.get("Item")
        return found if found else None

    def _get_object(self, key: str) -> bytes | None:
        """The object's body; None if a later write deleted it."""
        try:
            response = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as err:
            if error_code(err) in _MISSING:
                return None
            raise
        with response["Body"] as body:
            return bytes(body.read())

    def _node(self, path: str, item: Item, *, with_data: bool) -> Node | None:
        """The node ``item`` holds or names; None if it names an object deleted since."""
        if "object" not in item:
            return inline_node(path, item, with_data=with_data)
        body = self._get_object(item["object"]["S"])
        if body is None:
            return None
        return decode(path, body, with_data=with_data)

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        with aws_errors("read node"):
            for _attempt in range(ATTEMPTS):
                item = self._get_item(path, with_data=with_data)
                if item is None:
                    return None
                node = self._node(path, item, with_data=with_data)
                if node is not None:
                    return node
        raise ProviderException(f"AWS read node failed: {path} kept changing")

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        wanted = list(paths)
        by_path = items_by_path(self._ddb, self._table, wanted, _NAMES)
        inline = {p: self._node(p, item, with_data=True) for p, item in by_path.items() if "object" not in item}
        in_s3 = [p for p, item in by_path.items() if "object" in item]
        if in_s3:
            with ThreadPoolExecutor(max_workers=min(_READERS, len(in_s3))) as pool:
                inline.update(zip(in_s3, pool.map(self._read_named, [(p, by_path[p]) for p in in_s3]), strict=True))
        return [inline.get(p) for p in wanted]

    def _read_named(self, found: tuple[str, Item]) -> Node | None:
        path, item = found
        with aws_errors("read nodes"):
            node = self._node(path, item, with_data=True)
        return node if node is not None else self.read(path)

    # Writes

    def _put(self, node: Node, meta: str, condition: tuple[str, dict[str, Any]] | None = None) -> Item | None:
        """Store ``node`` in the form its size calls for, then delete the object the item it
        replaced named. Returns the replaced item; raises ClientError if ``condition`` (an
        expression on the old item and its values) does not hold."""
        data = bytes(node.data or b"")
        if item_size(node.path, data, meta) <= INLINE_LIMIT:
            item: Item = {"path": S(node.path), "data": {"B": data}, "meta": S(meta)}
        else:
            key = new_object_key(node.path)
            self._s3.put_object(Bucket=self._bucket, Key=key, Body=header_of(meta) + data)
            item = {"path": S(node.path), "object": S(key)}
        params: dict[str, Any] = {}
        if condition is not None:
            text, values = condition
            params = {
                "ConditionExpression": text,
                "ExpressionAttributeNames": expression(_NAMES, text),
                "ExpressionAttributeValues": values,
            }
        try:
            old = self._ddb.put_item(TableName=self._table, Item=item, ReturnValues="ALL_OLD", **params).get(
                "Attributes"
            )
        except ClientError as err:
            # Refused by its condition, the item names the old version still: the new object is
            # no one's. Any other failure may hide a write that took effect; the object stays.
            if is_condition_failure(err) and "object" in item:
                self._s3.delete_object(Bucket=self._bucket, Key=item["object"]["S"])
            raise
        self._drop_object_of(old)
        return old or None

    def _drop_object_of(self, old: Item | None) -> None:
        if old and "object" in old:
            self._s3.delete_object(Bucket=self._bucket, Key=old["object"]["S"])

    def write(self, node: Node) -> None:
        with aws_errors("write node"):
            self._put(node, encode_metadata(node.stat, node.children or (), node.epoch, node.footprint))

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        """One conditional UpdateItem while the node stays inline; otherwise the node is read
        and written whole, in the form its new size calls for (conditional on the item it read:
        only the distributor writes, in order; the condition guards a stale one)."""
        meta = encode_metadata(stat, children, footprint=footprint)
        room = INLINE_LIMIT - item_size(path, b"", meta)
        with aws_errors("update node metadata"):
            condition = "attribute_exists(#data) AND size(#data) <= :room"
            if room >= 0 and set_metadata(self._ddb, self._table, path, meta, condition, {":room": {"N": str(room)}}):
                return
            for _attempt in range(ATTEMPTS):
                item = self._get_item(path, with_data=True)
                if item is None:
                    return  # a missing node stays missing, as in the local provider
                current = self._node(path, item, with_data=True)
                if current is None:
                    continue
                updated = Node(path=path, data=current.data, stat=stat, children=list(children), footprint=footprint)
                try:
                    self._put(updated, meta, _unchanged(item))
                    return
                except ClientError as err:
                    if not is_condition_failure(err):
                        raise
        raise ProviderException(f"AWS update node metadata failed: {path} kept changing")

    def delete(self, path: str) -> None:
        with aws_errors("delete node"):
            old = self._ddb.delete_item(TableName=self._table, Key={"path": S(path)}, ReturnValues="ALL_OLD")
            self._drop_object_of(old.get("Attributes"))


def _unchanged(item: Item) -> tuple[str, dict[str, Any]]:
    """A condition that holds while the node's item is still ``item``'s version."""
    if "object" in item:
        return "#object = :object", {":object": item["object"]}
    return "#meta = :old AND attribute_not_exists(#object)", {":old": item["meta"]}
