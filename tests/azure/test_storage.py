"""The Azure storages on the emulators: the core's conformance suites over Cosmos DB system
storage and both user storages, then what they leave out (ids of any path, atomic commits, the
log's items, the errors a user sees)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.api.storage import (
    Commit,
    CreateItem,
    DeleteItem,
    NodeState,
    NodeUpdate,
    UpdateItem,
    UserStorage,
)
from faaskeeper.config import Config, StorageType
from faaskeeper.exceptions import ProviderException
from faaskeeper.node import Node, Stat
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.sequencer import SequencedLog
from faaskeeper.testing import SystemStorageSuite, UserStorageSuite
from faaskeeper.testing.node_commits import HOLD, create_node, new_lock
from faaskeeper_azure.emulator.servers import Emulators
from faaskeeper_azure.settings import AzureSettings
from faaskeeper_azure.storage import BlobUserStorage, CosmosSystemStorage, CosmosUserStorage, user_storage
from faaskeeper_azure.storage.blobs import create_blob_container, delete_blob_container
from faaskeeper_azure.storage.cosmos import MAX_ID, create_containers, delete_database, item_id


def _config(storage: str) -> Config:
    return Config.deserialize(
        {
            "cloud-provider": "azure",
            "deployment-name": f"stor-{uuid.uuid4().hex[:10]}",
            "user-storage": storage,
            "azure": {},
        }
    )


@pytest.fixture
def provider() -> Provider:
    return get_provider("azure")


@pytest.fixture
def fk_config(azure_emulators: Emulators, request: pytest.FixtureRequest) -> Config:
    return _config(getattr(request.cls, "user_storage_type", "persistent"))


@pytest.fixture
def settings(fk_config: Config) -> Iterator[AzureSettings]:
    """The deployment's database, containers and blob container, with the root in both storages."""
    settings = AzureSettings.from_config(fk_config)
    create_containers(settings, user_container=True)
    create_blob_container(settings)
    CosmosSystemStorage(settings).ensure_root()
    user_storage(settings, fk_config.user_storage).ensure_root()
    yield settings
    delete_database(settings)
    delete_blob_container(settings)
    settings.close()


class _DirectStorages:
    """The storages built directly from the config, as the deployment builds them."""

    @pytest.fixture
    def system_storage(self, settings: AzureSettings) -> CosmosSystemStorage:
        return CosmosSystemStorage(settings)

    @pytest.fixture
    def user_storage(self, settings: AzureSettings, fk_config: Config) -> UserStorage:
        return user_storage(settings, fk_config.user_storage)


class TestCosmosSystemStorage(_DirectStorages, SystemStorageSuite):
    pass


class TestBlobUserStorage(_DirectStorages, UserStorageSuite):
    user_storage_type = "persistent"


class TestCosmosUserStorage(_DirectStorages, UserStorageSuite):
    user_storage_type = "key-value"


# -- beyond the suites ---------------------------------------------------------------------------


def test_item_ids_are_one_to_one_and_never_too_long() -> None:
    names = ["/", "/a", "/a/b", "/a%2Fb", "/a!2Fb", "/a b", "/ü", "~x", "/" + "x" * 300]
    ids = [item_id(name) for name in names]
    assert len(set(ids)) == len(ids)
    assert all(len(i) <= MAX_ID and not any(c in i for c in "/\\?#") for i in ids)
    assert item_id("/a/b") == "!2Fa!2Fb"


def test_a_path_longer_than_an_item_id_is_stored(settings: AzureSettings) -> None:
    path = "/" + "/".join(["segment"] * 40)
    system = CosmosSystemStorage(settings)
    create_node(system, "/segment", 2)
    locked = system.lock_node(path, new_lock(), HOLD)
    assert locked is not None
    assert system.read_node(path) == locked
    users = CosmosUserStorage(settings)
    users.write(Node(path, b"deep", Stat(czxid=3, mzxid=3, pzxid=3), []))
    stored = users.read(path)
    assert stored is not None
    assert (stored.path, stored.data) == (path, b"deep")


def test_a_commit_over_two_nodes_is_one_atomic_batch(settings: AzureSettings) -> None:
    """The parent's item changes between the commit's reads and its batch: nothing is written,
    and the commit, read again, is refused as the parent's lock is gone."""
    system = CosmosSystemStorage(settings)
    lock = new_lock()
    assert system.lock_node("/", lock, HOLD) is not None
    assert system.lock_node("/a", lock, HOLD) is not None
    updates = (
        NodeUpdate("/a", NodeState(True, Stat()), created=True),
        NodeUpdate("/", NodeState(True, Stat(), ("a",)), children_changed=True),
    )
    intruder = new_lock(lock.timestamp + 2 * HOLD)
    reads = 0
    original = system.container.read

    def read_then_take_the_root(pk: str, id_: str, action: str) -> dict | None:
        nonlocal reads
        found = original(pk, id_, action)
        reads += 1
        if action == "commit" and reads == 2:  # both nodes read: another writer takes the root over
            assert system.lock_node("/", intruder, HOLD) is not None
        return found

    system.container.read = read_then_take_the_root  # type: ignore[method-assign]
    assert not system.commit(Commit(7, lock.token, updates, "", None))
    system.container.read = original  # type: ignore[method-assign]
    placeholder = system.read_node("/a")
    assert placeholder is not None
    assert (placeholder.exists, placeholder.pending) == (False, ())
    root = system.read_node("/")
    assert root is not None
    assert (root.lock, root.pending, root.state.children) == (intruder, (), ())


def test_items_keep_bytes_and_versions(settings: AzureSettings) -> None:
    system = CosmosSystemStorage(settings)
    assert system.read_items([("log",)]) == [None]
    versions = system.write_items(
        [CreateItem(("log",), {"next": 0}), CreateItem(("log", "records", "1"), {"body": b"\x00\xff"})]
    )
    assert versions is not None
    counter, record = system.read_items([("log",), ("log", "records", "1")])
    assert counter is not None
    assert record is not None
    assert (counter.value, record.value, counter.version) == ({"next": 0}, {"body": b"\x00\xff"}, versions[0])
    assert system.write_items([CreateItem(("log",), {"next": 5})]) is None, "a create of an existing item"
    assert (
        system.write_items([UpdateItem(("log",), {"next": 1}, counter.version), DeleteItem(("missing",))]) is not None
    )
    assert system.write_items([UpdateItem(("log",), {"next": 2}, counter.version)]) is None, "an old version"
    updated = system.read_items([("log",)])[0]
    assert updated is not None
    assert updated.value == {"next": 1}
    failed = system.write_items(
        [DeleteItem(("log", "records", "1")), UpdateItem(("log",), {"next": 9}, counter.version)]
    )
    assert failed is None
    assert system.read_items([("log", "records", "1")])[0] is not None, "a failed batch deletes nothing"


def test_the_core_log_sequencer_runs_on_cosmos_items(settings: AzureSettings) -> None:
    log = SequencedLog(CosmosSystemStorage(settings))
    log.ensure()
    log.ensure()
    assert log.append(b"one", "g1", "d1") == 1
    assert log.append(b"one", "g1", "d1") == 1, "a retried append is recognised by its dedup id"
    assert log.append(b"two", "g2", "d2") == 2
    handled: list[bytes] = []
    assert log.drain(2, lambda message: handled.append(message.body), lambda message, reason: None) == 2
    assert handled == [b"one", b"two"]
    assert log.positions() == (2, 2)


def test_a_missing_database_is_a_provider_exception_naming_deploy(azure_emulators: Emulators) -> None:
    storage = CosmosSystemStorage(AzureSettings.from_config(_config("persistent")))
    assert storage.read_node("/") is None, "a point read cannot tell a missing container from a missing item"
    with pytest.raises(ProviderException, match=r"Azure lock node failed \(404\).*fk deploy service"):
        storage.lock_node("/", new_lock(), HOLD)


def test_user_storage_is_chosen_by_its_kind(settings: AzureSettings) -> None:
    assert isinstance(user_storage(settings, StorageType.KEY_VALUE), CosmosUserStorage)
    assert isinstance(user_storage(settings, StorageType.PERSISTENT), BlobUserStorage)
