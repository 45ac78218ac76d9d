"""User storage in DynamoDB (``user-storage: key-value``): one item per node in the data table.

Item: ``path`` (key), ``data`` (B, possibly empty) and ``meta`` (S, the JSON of
:func:`faaskeeper_aws.storage.node_format.metadata`). A read is one strongly consistent GetItem, so a
client that was told a write finished reads it. Items are limited to 400 KB: deployments with
this storage should keep ``max-data-size`` below that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from faaskeeper.api.storage import UserStorage
from faaskeeper.node import Footprint, Node, Stat, decode_metadata, encode_metadata
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.dynamodb import (
    DynamoDbClient,
    Item,
    S,
    batch_get,
    dynamodb,
    expression,
    is_condition_failure,
)

_NAMES = {"path": "path", "data": "data", "meta": "meta"}


class DynamoDbUserStorage(UserStorage):
    def __init__(self, settings: AwsSettings) -> None:
        self._ddb = dynamodb(settings)
        self._table = settings.names.data_table

    def ensure_root(self) -> None:
        put_root_item(self._ddb, self._table)

    def read(self, path: str, *, with_data: bool = True) -> Node | None:
        params = {} if with_data else {"ProjectionExpression": "#meta", "ExpressionAttributeNames": {"#meta": "meta"}}
        with aws_errors("read node"):
            item = self._ddb.get_item(TableName=self._table, Key={"path": S(path)}, ConsistentRead=True, **params).get(
                "Item"
            )
        if not item:
            return None
        return inline_node(path, item, with_data=with_data)

    def read_many(self, paths: Iterable[str]) -> list[Node | None]:
        wanted = list(paths)
        found = items_by_path(self._ddb, self._table, wanted, _NAMES)
        return [inline_node(p, found[p], with_data=True) if p in found else None for p in wanted]

    def write(self, node: Node) -> None:
        item = {
            "path": S(node.path),
            "data": {"B": bytes(node.data or b"")},
            "meta": S(encode_metadata(node.stat, node.children or (), node.epoch, node.footprint)),
        }
        with aws_errors("write node"):
            self._ddb.put_item(TableName=self._table, Item=item)

    def update_metadata(
        self, path: str, stat: Stat, children: Sequence[str], footprint: Footprint | None = None
    ) -> None:
        meta = encode_metadata(stat, children, footprint=footprint)
        with aws_errors("update node metadata"):
            # A missing node stays missing, as in the local provider.
            set_metadata(self._ddb, self._table, path, meta, "attribute_exists(#path)")

    def delete(self, path: str) -> None:
        with aws_errors("delete node"):
            self._ddb.delete_item(TableName=self._table, Key={"path": S(path)})


def put_root_item(ddb: DynamoDbClient, table: str) -> None:
    """The root node's item in a user-storage table, unless one is there: an empty node, inline."""
    with aws_errors("create the root node"):
        try:
            ddb.put_item(
                TableName=table,
                Item={"path": S("/"), "data": {"B": b""}, "meta": S(encode_metadata(Stat(), ()))},
                ConditionExpression="attribute_not_exists(#path)",
                ExpressionAttributeNames={"#path": "path"},
            )
        except ClientError as err:
            if not is_condition_failure(err):
                raise


def inline_node(path: str, item: Item, *, with_data: bool) -> Node:
    """The node an item holding its ``data`` and ``meta`` stores (without its data if not ``with_data``)."""
    return decode_metadata(path, bytes(item["data"]["B"]) if with_data else None, item["meta"]["S"])


def set_metadata(
    ddb: DynamoDbClient, table: str, path: str, meta: str, condition: str, values: dict[str, Any] | None = None
) -> bool:
    """Set the ``meta`` of ``path``'s item where ``condition`` (with ``values``) holds; False where
    it does not."""
    try:
        ddb.update_item(
            TableName=table,
            Key={"path": S(path)},
            UpdateExpression="SET #meta = :meta",
            ConditionExpression=condition,
            ExpressionAttributeNames=expression(_NAMES, "#meta", condition),
            ExpressionAttributeValues={":meta": S(meta), **(values or {})},
        )
    except ClientError as err:
        if not is_condition_failure(err):
            raise
        return False
    return True


def items_by_path(ddb: DynamoDbClient, table: str, paths: list[str], names: Mapping[str, str]) -> dict[str, Item]:
    """The items of those of ``paths`` that exist, by path, read in batches."""
    if not paths:
        return {}
    with aws_errors("read nodes"):
        items = batch_get(ddb, table, [{"path": S(p)} for p in paths], names=names)
    return {item["path"]["S"]: item for item in items}
