"""System storage's items (the core's sequenced log, :mod:`faaskeeper.protocol.sequencer`):
partition ``items`` of the system container, one logical partition so that a batch of the log
spans any of its items.

An item's id is :func:`item_id` of its key's names joined by ``/``; its value is the field
``value``, where bytes are kept as ``{"b64": ...}`` (JSON has no bytes). A version is the item's ETag.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from faaskeeper.api.storage import CreateItem, DeleteItem, Item, ItemKey, ItemValue, ItemWrite, UpdateItem
from faaskeeper_azure.storage.cosmos import Container, Document, Operation, Refusal, cycles, exhausted, item_id

#: The partition key of every item.
ITEMS = "items"
ACTION = "write the distributor log"


def key_id(key: ItemKey) -> str:
    return item_id("/".join(key))


def encode_value(value: ItemValue) -> dict[str, object]:
    return {k: {"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v for k, v in value.items()}


def decode_value(stored: dict[str, object]) -> ItemValue:
    value: ItemValue = {}
    for name, field in stored.items():
        if isinstance(field, dict):
            value[name] = base64.b64decode(str(field["b64"]))
        elif isinstance(field, int | str):
            value[name] = field
        else:
            raise TypeError(f"item field {name!r} holds {field!r}, which no item value is")
    return value


def _document(key: ItemKey, value: ItemValue) -> Document:
    return {"id": key_id(key), "pk": ITEMS, "key": list(key), "value": encode_value(value)}


class Items:
    def __init__(self, container: Container) -> None:
        self._items = container

    def read_items(self, keys: Sequence[ItemKey]) -> list[Item | None]:
        """One query of the partition for the ids of ``keys``."""
        if not keys:
            return []
        ids = [key_id(key) for key in keys]
        found = self._items.query(ITEMS, "ARRAY_CONTAINS(@ids, c.id)", "read the distributor log", ids=ids)
        by_id = {d["id"]: d for d in found}
        return [
            Item(key, decode_value(by_id[i]["value"]), by_id[i]["_etag"]) if i in by_id else None
            for key, i in zip(keys, ids, strict=True)
        ]

    def write_items(self, writes: Sequence[ItemWrite]) -> list[object] | None:
        for _ in cycles():
            operations = self._operations(writes)
            if operations is None:
                return None
            results = self._items.batch(ITEMS, operations, ACTION)
            if not isinstance(results, Refusal):
                return [result.get("eTag") for result in results]
            if operations[results.index][0] != "delete":
                return None  # a create of an item that exists, an update of one changed or deleted
            # The item of a delete was deleted after it was read here: without that delete, again.
        raise exhausted(ACTION)

    def _operations(self, writes: Sequence[ItemWrite]) -> list[Operation] | None:
        """The batch of ``writes``; None if an update's item is not at its version any more.

        An update sets some fields and keeps the others, so its item is read first (a
        transactional batch cannot patch)."""
        operations: list[Operation] = []
        for write in writes:
            if isinstance(write, CreateItem):
                operations.append(("create", (_document(write.key, write.value),)))
            elif isinstance(write, UpdateItem):
                if not isinstance(write.since, str):
                    raise TypeError(f"a Cosmos DB item's version is its ETag, not {write.since!r}")
                current = self._items.read(ITEMS, key_id(write.key), ACTION)
                if current is None or current["_etag"] != write.since:
                    return None
                value = {**decode_value(current["value"]), **write.value}
                operations.append(
                    ("replace", (key_id(write.key), _document(write.key, value)), {"if_match_etag": write.since})
                )
            # "If it exists": a delete of a missing item would fail the batch.
            elif isinstance(write, DeleteItem) and self._items.read(ITEMS, key_id(write.key), ACTION) is not None:
                operations.append(("delete", (key_id(write.key),)))
        return operations
