"""Hybrid user storage on moto: which form each write chooses, what a read costs in each, and
what readers see while a node moves between an inline item and an S3 object."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from faaskeeper.config import Config
from faaskeeper.metering import difference
from faaskeeper.node import Node, Stat
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.hybrid import INLINE_LIMIT, KEY_PREFIX, HybridUserStorage
from faaskeeper_aws.storage.user import user_storage

from .resources import create_all

SMALL = b"s" * 100
LARGE = b"L" * (INLINE_LIMIT + 1)


@pytest.fixture
def settings(moto_server: Any) -> AwsSettings:
    config = Config.deserialize(
        {
            "cloud-provider": "aws",
            "deployment-name": f"hyb-{uuid.uuid4().hex[:10]}",
            "deployment-region": "us-east-1",
            "user-storage": "hybrid",
            "aws": {},
        }
    )
    settings = AwsSettings.from_config(config)
    create_all(settings)
    return settings


@pytest.fixture
def storage(settings: AwsSettings) -> HybridUserStorage:
    storage = user_storage(settings)
    assert isinstance(storage, HybridUserStorage)
    storage.ensure_root()
    return storage


def _objects(settings: AwsSettings) -> list[str]:
    listed = settings.client("s3").list_objects_v2(Bucket=settings.data_bucket, Prefix=KEY_PREFIX)
    return [o["Key"] for o in listed.get("Contents", [])]


def _item(settings: AwsSettings, path: str) -> dict[str, Any]:
    found = settings.client("dynamodb").get_item(
        TableName=settings.names.data_table, Key={"path": {"S": path}}, ConsistentRead=True
    )
    return dict(found.get("Item", {}))


def _requests(call: Any) -> tuple[Any, dict[str, int]]:
    before = METER.snapshot()
    result = call()
    return result, {f"{s} {op}": n for (s, op), n in difference(METER.snapshot(), before).items()}


def _node(path: str, data: bytes, version: int = 0, children: list[str] | None = None) -> Node:
    return Node(path, data, Stat(version=version), children or [])


def test_a_small_node_is_one_item_and_one_read(settings, storage):
    storage.write(_node("/small", SMALL))
    assert set(_item(settings, "/small")) == {"path", "data", "meta"}
    assert _objects(settings) == []
    node, requests = _requests(lambda: storage.read("/small"))
    assert node.data == SMALL
    assert requests == {"dynamodb GetItem": 1}


def test_a_large_node_is_an_item_naming_an_object(settings, storage):
    storage.write(_node("/large", LARGE, children=["c"]))
    item = _item(settings, "/large")
    assert set(item) == {"path", "object"}
    assert _objects(settings) == [item["object"]["S"]]
    node, requests = _requests(lambda: storage.read("/large"))
    assert (node.data, node.children) == (LARGE, ["c"])
    assert requests == {"dynamodb GetItem": 1, "s3 GetObject": 1}
    meta = storage.read("/large", with_data=False)
    assert meta is not None
    assert (meta.data, meta.children) == (None, ["c"])


def test_the_limit_is_the_item_size(settings, storage):
    """A node exactly at the limit stays inline; one byte more goes to S3."""
    probe = _node("/edge", b"")
    storage.write(probe)
    item = _item(settings, "/edge")
    overhead = sum(len(k) for k in item) + len("/edge") + len(item["meta"]["S"])
    storage.write(_node("/edge", b"x" * (INLINE_LIMIT - overhead)))
    assert "data" in _item(settings, "/edge")
    storage.write(_node("/edge", b"x" * (INLINE_LIMIT - overhead + 1)))
    assert "object" in _item(settings, "/edge")


def test_each_write_chooses_its_form_and_drops_the_old_object(settings, storage):
    storage.write(_node("/n", SMALL))
    storage.write(_node("/n", LARGE, version=1))
    first = _objects(settings)
    assert len(first) == 1
    storage.write(_node("/n", LARGE + b"2", version=2))
    second = _objects(settings)
    assert len(second) == 1
    assert second != first, "a new version is a new object; the old one is deleted"
    assert storage.read("/n").data == LARGE + b"2"
    storage.write(_node("/n", SMALL, version=3))
    assert _objects(settings) == []
    node = storage.read("/n")
    assert (node.data, node.stat.version) == (SMALL, 3)


def test_delete_removes_the_object(settings, storage):
    storage.write(_node("/gone", LARGE))
    storage.delete("/gone")
    assert storage.read("/gone") is None
    assert _objects(settings) == []


def test_a_reader_whose_object_was_replaced_reads_the_new_version(settings, storage, monkeypatch):
    """The reader reads the item naming version 1's object; a write replaces the node before
    the reader's GET, and deletes that object: the reader reads the item again and gets the new
    version whole, never nothing and never version 1's metadata with other data."""
    storage.write(_node("/race", LARGE, version=1))
    read_item = storage._get_item
    writes = iter([_node("/race", LARGE + b"2", version=2), _node("/race", SMALL, version=3)])

    def item_then_write(path: str, *, with_data: bool) -> Any:
        item = read_item(path, with_data=with_data)
        following = next(writes, None)
        if following is not None:
            storage.write(following)
        return item

    monkeypatch.setattr(storage, "_get_item", item_then_write)
    node = storage.read("/race")
    assert node is not None
    assert (node.data, node.stat.version) == (SMALL, 3)
    assert _objects(settings) == []


def test_a_reader_of_the_object_it_found_gets_that_version(settings, storage, monkeypatch):
    """The object an item names is never changed: a reader whose GET comes between a write's new
    item and its delete of the old object reads the old version whole, the one its item showed."""
    storage.write(_node("/old", LARGE, version=1))
    item = _item(settings, "/old")
    monkeypatch.setattr(storage, "_drop_object_of", lambda old: None)  # the writer, paused
    storage.write(_node("/old", LARGE + b"2", version=2))
    node = storage._node("/old", item, with_data=True)
    assert node is not None
    assert (node.data, node.stat.version) == (LARGE, 1)
    assert storage.read("/old").stat.version == 2


def test_update_metadata_keeps_the_form_and_the_data(settings, storage):
    storage.write(_node("/small", SMALL))
    storage.write(_node("/large", LARGE))
    large_object = _objects(settings)
    _, requests = _requests(lambda: storage.update_metadata("/small", Stat(version=4), ["a"]))
    assert requests == {"dynamodb UpdateItem": 1}, "an inline node's metadata is one write"
    storage.update_metadata("/large", Stat(version=5), ["b"])
    small, large = storage.read("/small"), storage.read("/large")
    assert (small.data, small.children, small.stat.version) == (SMALL, ["a"], 4)
    assert (large.data, large.children, large.stat.version) == (LARGE, ["b"], 5)
    assert len(_objects(settings)) == 1
    assert _objects(settings) != large_object, "the new metadata is a new object"


def test_update_metadata_that_outgrows_the_item_moves_the_node_to_s3(settings, storage):
    storage.write(_node("/dir", SMALL))
    children = [f"child-{i:06d}" for i in range(INLINE_LIMIT // 10)]
    storage.update_metadata("/dir", Stat(version=1), children)
    assert "object" in _item(settings, "/dir")
    node = storage.read("/dir")
    assert (node.data, node.children) == (SMALL, children)
    storage.update_metadata("/dir", Stat(version=2), ["one"])
    assert "data" in _item(settings, "/dir"), "back under the limit, the node is inline again"
    assert _objects(settings) == []
    assert storage.read("/dir").children == ["one"]


def test_update_metadata_of_a_missing_node_writes_nothing(settings, storage):
    storage.update_metadata("/missing", Stat(), ["x"])
    assert storage.read("/missing") is None
    assert _objects(settings) == []


def test_read_many_mixes_forms(storage):
    storage.write(_node("/a", SMALL))
    storage.write(_node("/b", LARGE))
    found = storage.read_many(["/b", "/none", "/a"])
    assert [n.data if n is not None else None for n in found] == [LARGE, None, SMALL]


def test_a_metadata_update_that_loses_a_race_leaves_no_object_behind(settings, storage, monkeypatch):
    """The update writes the node whole on the condition that the item is the one it read; a
    write in between refuses it, the object of the refused attempt is deleted, and the update
    is made again on the node as it now is."""
    storage.write(_node("/dir", LARGE, version=1))
    read_node = storage._node
    racing = iter([_node("/dir", LARGE + b"2", version=2)])

    def node_then_write(path: str, item: Any, *, with_data: bool) -> Any:
        node = read_node(path, item, with_data=with_data)
        following = next(racing, None)
        if following is not None:
            storage.write(following)
        return node

    monkeypatch.setattr(storage, "_node", node_then_write)
    puts: list[dict[str, Any]] = []
    put_item = storage._ddb.put_item

    def counted_put(**params: Any) -> Any:
        puts.append(params)
        return put_item(**params)

    monkeypatch.setattr(storage._ddb, "put_item", counted_put)
    storage.update_metadata("/dir", Stat(version=2), ["child"])
    assert ["ConditionExpression" in p for p in puts] == [False, True, True], "the race, the refused try, the retry"
    node = storage.read("/dir")
    assert (node.data, node.children) == (LARGE + b"2", ["child"])
    assert _objects(settings) == [_item(settings, "/dir")["object"]["S"]]
