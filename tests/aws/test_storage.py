"""The AWS storages against moto over the wire: the conformance suites, then what they leave out
(precision, the ephemeral index, batches and pages, S3 headers) and the requests one write costs."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator

import pytest

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.provider import Provider
from faaskeeper.api.storage import (
    Commit,
    Lock,
    NodeState,
    NodeUpdate,
    SessionRecord,
    SystemStorage,
    UserStorage,
    WatchKind,
    WatchRecord,
)
from faaskeeper.config import Config
from faaskeeper.metering import difference
from faaskeeper.node import Node, Stat
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import SystemStorageSuite, UserStorageSuite
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.dynamodb import dynamodb, scan
from faaskeeper_aws.storage.s3 import HEADER_RANGE, S3UserStorage, object_key
from faaskeeper_aws.storage.system import DynamoDbSystemStorage
from faaskeeper_aws.storage.user import AwsUserStorage, user_storage

from .resources import create_all


def _config(storage: str) -> Config:
    return Config.deserialize(
        {
            "cloud-provider": "aws",
            "deployment-name": f"stor-{uuid.uuid4().hex[:10]}",
            "deployment-region": "us-east-1",
            "user-storage": storage,
            "aws": {},
        }
    )


def _user_storage(settings: AwsSettings) -> AwsUserStorage:
    return user_storage(settings)


#: Settings by deployment name: each holds its boto3 clients, which take a while to create.
_SETTINGS: dict[str, AwsSettings] = {}


def _deploy(config: Config) -> AwsSettings:
    """The deployment's tables, bucket and queues, with the root node in both storages."""
    settings = AwsSettings.from_config(config)
    create_all(settings)
    DynamoDbSystemStorage(settings).ensure_root()
    _user_storage(settings).ensure_root()
    return settings


@pytest.fixture
def provider() -> Provider:
    return get_provider("aws")


@pytest.fixture
def fk_config(moto_server, request: pytest.FixtureRequest) -> Iterator[Config]:
    config = _config(getattr(request.cls, "user_storage_type", "persistent"))
    _SETTINGS[config.deployment_name] = _deploy(config)
    yield config
    _SETTINGS.pop(config.deployment_name, None)


@pytest.fixture
def settings(fk_config: Config) -> AwsSettings:
    return _SETTINGS[fk_config.deployment_name]


class _DirectStorages:
    """The storages built directly from the config, as the deployment builds them."""

    @pytest.fixture
    def system_storage(self, settings: AwsSettings) -> DynamoDbSystemStorage:
        return DynamoDbSystemStorage(settings)

    @pytest.fixture
    def user_storage(self, settings: AwsSettings) -> UserStorage:
        return _user_storage(settings)


class TestDynamoDbSystemStorage(_DirectStorages, SystemStorageSuite):
    pass


class TestS3UserStorage(_DirectStorages, UserStorageSuite):
    user_storage_type = "persistent"


class TestDynamoDbUserStorage(_DirectStorages, UserStorageSuite):
    user_storage_type = "key-value"


class TestHybridUserStorage(_DirectStorages, UserStorageSuite):
    user_storage_type = "hybrid"


def test_the_deployment_opens_these_storages(provider, fk_config):
    deployment = provider.open(fk_config)
    try:
        assert isinstance(deployment.system_storage, DynamoDbSystemStorage)
        assert isinstance(deployment.user_storage, S3UserStorage)
        root = deployment.user_storage.read("/")
        assert root is not None
        assert root.children == []
    finally:
        deployment.close()


# -- system storage beyond the suite -----------------------------------------------------------


def _create(storage: SystemStorage, path: str, txn: int, owner: str | None = None, session: str = "") -> None:
    parent = path.rsplit("/", 1)[0] or "/"
    lock = Lock(uuid.uuid4().hex, time.time())
    parent_node = storage.lock_node(parent, lock, 5.0)
    assert parent_node is not None
    assert storage.lock_node(path, lock, 5.0) is not None
    children = tuple(sorted({*parent_node.state.children, path.rsplit("/", 1)[1]}))
    updates = (
        NodeUpdate(path, NodeState(True, Stat(ephemeral_owner=owner)), created=True),
        NodeUpdate(parent, NodeState(True, parent_node.state.stat, children), children_changed=True),
    )
    assert storage.commit(Commit(txn, lock.token, updates, session, None))
    assert storage.claim_transaction([path, parent], txn)


def _delete(storage: SystemStorage, path: str, txn: int, *, finish: bool = True) -> None:
    parent = path.rsplit("/", 1)[0] or "/"
    lock = Lock(uuid.uuid4().hex, time.time())
    parent_node = storage.lock_node(parent, lock, 5.0)
    node = storage.lock_node(path, lock, 5.0)
    assert parent_node is not None
    assert node is not None
    children = tuple(c for c in parent_node.state.children if c != path.rsplit("/", 1)[1])
    updates = (
        NodeUpdate(path, NodeState(False, node.state.stat), modified=True),
        NodeUpdate(parent, NodeState(True, parent_node.state.stat, children), children_changed=True),
    )
    assert storage.commit(Commit(txn, lock.token, updates, "", None))
    if finish:
        assert storage.claim_transaction([path, parent], txn)


def test_lock_timestamps_keep_sub_millisecond_precision(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    stamp = 1700000000.125 + 2**-12  # a quarter of a millisecond past .125 s; exact in binary
    lock = Lock("t1", stamp)
    assert storage.lock_node("/a", lock, 5.0) is not None
    node = storage.read_node("/a")
    assert node is not None
    assert node.lock == lock
    # Expired 0.2 ms after max_hold, not at max_hold.
    assert storage.lock_node("/a", Lock("t2", stamp + 5.0), 5.0) is None
    assert storage.lock_node("/a", Lock("t2", stamp + 5.0002), 5.0) is not None
    stored = dynamodb(settings).get_item(TableName=settings.names.nodes_table, Key={"path": {"S": "/a"}})
    assert stored["Item"]["lock_ts"] == {"N": repr(stamp + 5.0002)}


def test_a_retried_lock_request_finds_its_own_lock(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    lock = Lock("mine", time.time())
    assert storage.lock_node("/a", lock, 5.0) is not None
    again = storage.lock_node("/a", lock, 5.0)
    assert again is not None, "the same token and timestamp is our own request, retried by botocore"
    assert again.lock == lock
    assert storage.lock_node("/a", Lock("other", lock.timestamp), 5.0) is None


def test_ephemeral_index_follows_owners_not_committing_sessions(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    _create(storage, "/e", 1, owner="owner-1", session="closer")
    _create(storage, "/p", 2)
    _create(storage, "/p/f", 3, owner="owner-1")
    assert storage.ephemeral_nodes("owner-1") == ["/e", "/p/f"]
    assert storage.ephemeral_nodes("closer") == []
    # set_data of an ephemeral node keeps it owned
    lock = Lock(uuid.uuid4().hex, time.time())
    node = storage.lock_node("/e", lock, 5.0)
    assert node is not None
    update = NodeUpdate("/e", NodeState(True, node.state.stat.updated(version=1)), modified=True)
    assert storage.commit(Commit(4, lock.token, (update,), "owner-1", None))
    assert storage.ephemeral_nodes("owner-1") == ["/e", "/p/f"]
    _delete(storage, "/e", 5)
    _delete(storage, "/p/f", 6, finish=False)
    assert storage.ephemeral_nodes("owner-1") == [], "a tombstone is not an ephemeral node"
    assert storage.claim_transaction(["/p/f", "/p"], 6)
    storage.delete_session("owner-1")
    ddb = dynamodb(settings)
    index = ddb.get_item(TableName=settings.names.nodes_table, Key={"path": {"S": "ephemeral#owner-1"}})
    assert "Item" not in index, "an empty index is dropped with its session"
    assert storage.count_nodes() == 2


def test_ephemeral_index_survives_its_session_while_nodes_exist(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    _create(storage, "/e", 1, owner="s1")
    storage.delete_session("s1")
    assert storage.ephemeral_nodes("s1") == ["/e"]


def test_commit_for_a_missing_session_creates_none(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    lock = Lock(uuid.uuid4().hex, time.time())
    root = storage.lock_node("/", lock, 5.0)
    assert root is not None
    update = NodeUpdate("/", NodeState(True, root.state.stat.updated(version=1)), modified=True)
    assert storage.commit(Commit(3, lock.token, (update,), "no-such-session", 7))
    assert storage.read_session("no-such-session") is None
    node = storage.read_node("/")
    assert node is not None
    assert node.pending == (3,)


def test_claim_reads_the_node_where_its_transaction_is_not_first(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    _create(storage, "/a", 1)
    for txn in (2, 3):
        lock = Lock(uuid.uuid4().hex, time.time())
        node = storage.lock_node("/a", lock, 5.0)
        assert node is not None
        update = NodeUpdate("/a", NodeState(True, node.state.stat), modified=True)
        assert storage.commit(Commit(txn, lock.token, (update,), "", None))
    assert storage.claim_transaction(["/a"], 3)  # not first in the list: found by reading it
    node = storage.read_node("/a")
    assert node is not None
    assert (node.pending, node.claimed) == ((2,), 3)
    assert not storage.claim_transaction(["/a"], 2), "claimed after a later one: superseded"
    assert storage.read_node("/a") == node


def test_claim_drops_a_tombstone_and_reads_the_dropped_one_as_claimed(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    _create(storage, "/a", 1)
    _delete(storage, "/a", 4, finish=False)
    assert storage.claim_transaction(["/a", "/", "/a"], 4)
    assert storage.read_node("/a") is None
    assert storage.claim_transaction(["/a", "/"], 4)
    root = storage.read_node("/")
    assert root is not None
    assert (root.pending, root.claimed) == ((), 4)


def test_sessions_and_watches_page_through_scans(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    for index in range(30):
        record = SessionRecord(f"s{index:02d}", "tcp://127.0.0.1:9", "d" * 64, created=1.5 + index)
        assert storage.create_session(record)
        storage.add_watch(WatchRecord(f"/w{index}", WatchKind.DATA, "gone", index, "tcp://127.0.0.1:9"))
    storage.add_watch(WatchRecord("/w0", WatchKind.DATA, "kept", 0, "tcp://127.0.0.1:10"))
    pages = list(scan(dynamodb(settings), "test", TableName=settings.names.sessions_table, Limit=7))
    assert len(pages) >= 5
    assert [s.session_id for s in storage.list_sessions()] == [f"s{i:02d}" for i in range(30)]
    assert storage.count_watches() == 31
    storage.remove_session_watches("gone")  # more than one BatchWriteItem of 25
    assert storage.count_watches() == 1


def test_watch_address_follows_the_latest_registration(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    storage.add_watch(WatchRecord("/a", WatchKind.DATA, "s1", 5, "tcp://old"))
    storage.add_watch(WatchRecord("/a", WatchKind.DATA, "s1", 3, "tcp://new"))
    assert storage.triggered_watches("/a", [WatchKind.DATA], 9) == [
        WatchRecord("/a", WatchKind.DATA, "s1", 5, "tcp://new")
    ]


# -- user storage beyond the suite -------------------------------------------------------------


def test_s3_header_larger_than_the_first_range(moto_server):
    settings = _deploy(_config("persistent"))
    storage = S3UserStorage(settings)
    children = [f"child-with-a-long-name-{i:05d}" for i in range(HEADER_RANGE // 20)]
    stat = Stat(czxid=3, num_children=len(children))
    storage.write(Node("/big", b"payload", stat, children))
    before = METER.snapshot()
    node = storage.read("/big", with_data=False)
    assert difference(METER.snapshot(), before) == {("s3", "GetObject"): 2}
    assert node is not None
    assert node.children == children
    assert node.stat == stat
    storage.update_metadata("/big", stat.updated(num_children=1), ["x"])
    small = storage.read("/big", with_data=False)
    assert small is not None
    assert small.children == ["x"]
    full = storage.read("/big")
    assert full is not None
    assert full.data == b"payload"
    head = settings.client("s3").head_object(Bucket=settings.data_bucket, Key=object_key("/big"))
    assert head.get("Metadata", {}) == {}, "children never go into S3's 2 KB user metadata"


def test_s3_keys_and_missing_nodes(moto_server):
    settings = _deploy(_config("persistent"))
    storage = S3UserStorage(settings)
    assert object_key("/") == "nodes/"
    storage.update_metadata("/missing", Stat(), ["a"])
    assert storage.read("/missing") is None
    assert storage.read("/missing", with_data=False) is None
    storage.ensure_root()  # idempotent: keeps what is there
    storage.update_metadata("/", Stat(pzxid=4, num_children=1), ["a"])
    storage.ensure_root()
    root = storage.read("/")
    assert root is not None
    assert root.children == ["a"]


@pytest.mark.parametrize("kind", ["persistent", "key-value", "hybrid"])
def test_read_many_in_batches_with_duplicates(moto_server, kind):
    settings = _deploy(_config(kind))
    storage = _user_storage(settings)
    paths = [f"/n{i}" for i in range(130)]
    for path in paths[:120]:
        storage.write(Node(path, path.encode(), Stat(), []))
    wanted = [*paths, "/n0", "/n129"]
    found = storage.read_many(wanted)
    assert [n.data if n is not None else None for n in found] == [
        p.encode() if int(p[2:]) < 120 else None for p in wanted
    ]


def test_system_root_is_idempotent(moto_server, settings):
    storage = DynamoDbSystemStorage(settings)
    _create(storage, "/a", 1)
    storage.ensure_root()
    root = storage.read_node("/")
    assert root is not None
    assert root.state.children == ("a",)


# -- what one write and one read cost --------------------------------------------------------


@pytest.mark.parametrize("kind", ["persistent", "key-value", "hybrid"])
def test_requests_of_one_create_set_data_and_get_data(moto_server, kind, record_property):
    """The core's writer and distributor over these storages (queues and channel in memory)."""
    from faaskeeper.protocol.distributor import Distributor
    from faaskeeper.protocol.host import PollingFunctionHost
    from faaskeeper.protocol.messages import Op
    from faaskeeper.protocol.settings import FunctionSettings
    from faaskeeper.protocol.writer import Writer
    from faaskeeper.testing.support import HandSession, Inbox
    from faaskeeper_memory.queue import MemoryQueue

    settings = _deploy(_config(kind))
    system, user = DynamoDbSystemStorage(settings), _user_storage(settings)
    inbox = Inbox()

    class Channel(ChannelSender):
        def send(self, address: str, message: bytes) -> None:
            inbox(message)

        def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
            return inbox(message)

    writer_queue, distributor_queue = MemoryQueue("writer"), MemoryQueue("distributor")
    function_settings = FunctionSettings()
    channel = Channel()
    writer = Writer(system, distributor_queue, channel, function_settings)
    distributor = Distributor(system, user, channel, function_settings, writer_queue=writer_queue)
    host = PollingFunctionHost(
        [(writer_queue, writer.handle), (distributor_queue, distributor.handle)], visibility_timeout=5
    )
    session = HandSession(writer_queue, "tcp://127.0.0.1:9", inbox)

    def run(request: Callable[[], int]) -> dict[str, int]:
        before = METER.snapshot()
        seq = request()
        while host.run_once():
            pass
        assert inbox.wait_reply(seq, 5).ok
        return {f"{s} {op}": n for (s, op), n in difference(METER.snapshot(), before).items()}

    run(lambda: session.push(session.request(Op.REGISTER_SESSION, heartbeat=False)))
    costs = {
        "create": run(lambda: session.push(session.request(Op.CREATE, "/node", b"data"))),
        "set_data": run(lambda: session.push(session.request(Op.SET_DATA, "/node", b"more"))),
    }
    before = METER.snapshot()
    node = user.read("/node")
    costs["get_data"] = {f"{s} {op}": n for (s, op), n in difference(METER.snapshot(), before).items()}
    assert node is not None
    assert node.data == b"more"
    costs["delete"] = run(lambda: session.push(session.request(Op.DELETE, "/node")))
    assert user.read("/node") is None
    assert system.read_node("/node") is None, "the tombstone is dropped when the delete is applied"
    record_property("requests", json.dumps(costs))
    print(kind, json.dumps(costs, indent=1))
    read = "s3 GetObject" if kind == "persistent" else "dynamodb GetItem"
    assert costs["get_data"] == {read: 1}, "a read is exactly one request"
