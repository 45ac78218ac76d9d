"""Code written against the upstream FaaSKeeper client runs unchanged on the local provider.

Each test is written as upstream code was: the upstream import paths, a config loaded with
``Config.deserialize(json.load(...))``, positional arguments, the upstream's Node accessors,
exceptions and futures.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import faaskeeper
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import ClientChannel, CloudProvider, Config, StorageType
from faaskeeper.exceptions import (
    BadVersionError,
    ConfigurationException,
    FaaSKeeperException,
    MalformedInputException,
    NodeDoesntExistException,
    NodeExistsException,
    NotEmptyException,
    SessionExpiredException,
    UnknownProviderException,
    ZooKeeperException,
)
from faaskeeper.node import Node
from faaskeeper.providers.serialization import S3Reader, UserStorageReader
from faaskeeper.stats import StorageStatistics
from faaskeeper.threading import Future
from faaskeeper.version import SystemCounter, Version
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_local.provider import LocalProvider

#: Long enough that no event is missed on a slow machine; the tests never wait for it to pass.
PATIENCE = 30.0


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A config file with the upstream's keys, of a deployed local deployment."""
    data = {
        "verbose": False,
        "cloud-provider": "local",
        "deployment-name": "upstream",
        "deployment-region": "local",
        "heartbeat-frequency": 5,
        "user-storage": "persistent",
        "worker-queue": "local",
        "client-channel": "tcp",
        "local": {"path": str(tmp_path / "fk"), "lock-max-hold": 1, "visibility-timeout": 1},
    }
    deployed = LocalProvider().deploy(Config.deserialize(data))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(deployed.serialize()))
    return path


@pytest.fixture
def cfg(config_file: Path) -> Config:
    with open(config_file) as f:
        return Config.deserialize(json.load(f))


def test_the_upstream_readme_example(cfg: Config) -> None:
    client = FaaSKeeperClient(cfg, -1, True)
    try:
        session = client.start()
        assert isinstance(session, str)
        assert client.session_id == session
        assert client.session_status == "CONNECTED"
        client.create("/root", b"")
        ret = client.create("/root/test2", b"test")
        ret2 = client.get_data("/root/test2")
        assert ret.path == "/root/test2"
        assert ret2.data == b"test"
    finally:
        assert client.stop() == "closed"
    assert client.session_status == "DISCONNECTED"
    assert client.session_id is None
    assert client.stop() == "closed"


def test_nodes_carry_the_upstream_fields(cfg: Config) -> None:
    client = FaaSKeeperClient(cfg)
    client.start()
    try:
        created = client.create("/n", b"hello")
        assert created.has_created
        assert created.created.system.sum > 0

        node = client.get_data("/n")
        assert isinstance(node, Node)
        assert node.path == "/n"
        assert node.has_data
        assert node.data == b"hello"
        assert node.data_b64 == "aGVsbG8="
        assert node.has_children
        assert node.children == []
        assert node.has_created
        assert node.has_modified
        assert node.created.system == created.created.system
        assert node.modified.system >= node.created.system
        assert node.modified.epoch is not None
        assert node.modified.epoch.version == set()

        updated = client.set_data("/n", b"again")
        assert updated.has_modified
        assert updated.modified.system > node.modified.system
        assert client.get_data("/n").modified.system == updated.modified.system

        stat_only = client.exists("/n")
        assert stat_only is not None
        assert not stat_only.has_data
        assert stat_only.modified.system == updated.modified.system
        assert client.exists("/missing") is None

        serialized = client.get_data("/n").serialize()
        assert serialized["path"] == "/n"
        assert serialized["data"] == str(b"again")
        assert serialized["version"]["created"]["system"] == created.created.system.serialize()
        assert serialized["children"] == []
    finally:
        client.stop()


def test_children_and_deletes_positionally(cfg: Config) -> None:
    client = FaaSKeeperClient(cfg)
    client.start()
    try:
        client.create("/p", b"")
        client.create("/p/a", b"1", False, False)
        client.create("/p/b", b"2", False, False)
        seq = client.create("/p/s-", b"3", False, True)
        assert seq.path.startswith("/p/s-")
        assert seq.path != "/p/s-"

        with_data = client.get_children("/p", True)
        assert [(c.path, c.data) for c in with_data] == [("/p/a", b"1"), ("/p/b", b"2"), (seq.path, b"3")]
        assert all(c.has_data for c in with_data)
        assert all(c.has_created for c in with_data)
        names = client.get_children("/p")
        assert [c.path for c in names] == ["/p/a", "/p/b", seq.path]

        with pytest.raises(NotEmptyException):
            client.delete("/p")
        with pytest.raises(BadVersionError):
            client.delete("/p/a", 7)
        client.delete("/p/a")
        assert client.exists("/p/a") is None
        client.delete("/p/b", -1)
        client.delete(seq.path)
        client.delete("/p")
        with pytest.raises(NodeDoesntExistException):
            client.get_data("/p")
    finally:
        client.stop()


def test_exceptions_are_caught_by_their_upstream_bases(cfg: Config) -> None:
    client = FaaSKeeperClient(cfg)
    client.start()
    try:
        client.create("/e", b"")
        for call in (
            lambda: client.create("/e", b""),
            lambda: client.get_data("/nothing"),
            lambda: client.set_data("/e", b"x", 5),
            lambda: client.create("e-without-slash", b""),
        ):
            with pytest.raises(ZooKeeperException):
                call()
        with pytest.raises(FaaSKeeperException) as caught:
            client.create("/e", b"")
        assert isinstance(caught.value, NodeExistsException)
        with pytest.raises(MalformedInputException):
            client.create("/ends/with/", b"")
    finally:
        client.stop()
    with pytest.raises(SessionExpiredException):
        client.create("/after", b"")


def test_async_forms_return_upstream_futures(cfg: Config) -> None:
    client = FaaSKeeperClient(cfg)
    client.start()
    try:
        fut = client.create_async("/f", b"1", False, False)
        assert isinstance(fut, Future)
        assert isinstance(fut, faaskeeper.Future)
        assert fut.wait() is True
        assert fut.done()
        assert fut.get().path == "/f"
        assert client.set_data_async("/f", b"2", -1).get().has_modified
        assert client.get_data_async("/f").get().data == b"2"
        assert client.exists_async("/f").get() is not None
        assert [c.path for c in client.get_children_async("/", False).get()] == ["/f"]
        failed = client.delete_async("/f", 42)
        assert failed.wait() is False
        with pytest.raises(BadVersionError):
            failed.get()
        assert client.delete_async("/f").get() is None
    finally:
        client.stop()


def test_a_get_data_watch_delivers_an_upstream_event(cfg: Config) -> None:
    client = FaaSKeeperClient(cfg)
    client.start()
    received: list[WatchedEvent] = []
    fired = threading.Event()

    def callback(event: WatchedEvent) -> None:
        received.append(event)
        fired.set()

    try:
        client.create("/w", b"0")
        client.get_data("/w", callback)
        written = client.set_data("/w", b"1")
        assert fired.wait(PATIENCE)
        (event,) = received
        assert event.event_type is WatchEventType.NODE_DATA_CHANGED
        assert str(event.event_type) == "NodeDataChanged"
        assert event.path == "/w"
        assert event.timestamp == written.modified.system.sum
    finally:
        client.stop()


def test_storage_statistics_count_the_clients_reads_and_writes(cfg: Config) -> None:
    stats = StorageStatistics.instance()
    client = FaaSKeeperClient(cfg)
    client.start()
    try:
        stats.reset()
        client.create("/s", b"")
        client.get_data("/s")
        client.exists("/s")
        assert stats.write_units >= 1
        assert len(stats.write_times) == stats.write_units
        assert stats.read_units >= 2
        assert len(stats.read_times) == stats.read_units
        assert all(t >= 0 for t in stats.read_times + stats.write_times)
    finally:
        client.stop()


def test_an_upstream_aws_config_file_loads_with_the_upstream_meaning() -> None:
    upstream = {
        "verbose": False,
        "cloud-provider": "aws",
        "deployment-name": "dev",
        "deployment-region": "us-east-1",
        "heartbeat-frequency": 5,
        "user-storage": "key-value",
        "worker-queue": "sqs",
        "client-channel": "sqs",
        "aws": {"data-bucket": "my-fk-data"},
    }
    cfg = Config.deserialize(upstream)
    assert cfg.cloud_provider == CloudProvider.AWS
    assert cfg.cloud_provider is CloudProvider.AWS
    assert CloudProvider.serialize(cfg.cloud_provider) == "aws"
    assert cfg.deployment_region == "us-east-1"
    assert cfg.deployment_name == "dev"
    assert cfg.heartbeat_frequency == 5
    assert cfg.verbose is False
    assert cfg.user_storage is StorageType.KEY_VALUE
    assert cfg.client_channel is ClientChannel.SQS
    assert cfg.provider_config.data_bucket == "my-fk-data"  # type: ignore[attr-defined]


def test_counters_compare_as_upstream() -> None:
    low = SystemCounter.from_raw_data([3])
    high = SystemCounter.from_provider_schema({"L": [{"N": "7"}]})
    assert low < high
    assert high.serialize() == [7]
    assert high.sum == 7
    assert SystemCounter(None, [7]) == high
    assert Version(high, None).serialize() == {"system": [7]}


def test_a_user_storage_reader_reads_what_clients_wrote(cfg: Config) -> None:
    with FaaSKeeperClient(cfg) as client:
        client.create("/u", b"data")
        written = client.get_data("/u")
    reader = UserStorageReader(cfg)
    try:
        node = reader.get_data("/u")
        assert node == written
        bare = reader.get_data("/u", False, False)
        assert bare is not None
        assert not bare.has_data
        assert not bare.has_children
        assert reader.get_data("/none") is None
    finally:
        reader.close()
    with pytest.raises(ConfigurationException, match="S3Reader reads an AWS deployment"):
        S3Reader(cfg)


def test_an_empty_config_names_no_provider_when_a_client_starts() -> None:
    with pytest.raises(UnknownProviderException, match="names no provider"):
        FaaSKeeperClient(Config()).start()
