"""Clients (FaaSKeeperClient) against a deployment on moto whose functions run in the Lambda
emulator: a session doing every operation and watch, over each client channel and user storage,
and the requests each operation costs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import BadVersionError, NodeDoesntExistException, NodeExistsException, NotEmptyException
from faaskeeper.metering import Meter, difference
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.functions.host import LambdaEmulator

COMBINATIONS = [
    ("tcp", "persistent"),
    ("sqs", "persistent"),
    ("tcp", "key-value"),
    ("sqs", "key-value"),
    ("tcp", "hybrid"),
    ("sqs", "hybrid"),
]


class Events:
    def __init__(self) -> None:
        self.events: list[WatchedEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: WatchedEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait(self, count: int = 1, timeout: float = 10) -> list[WatchEventType]:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.events) >= count, timeout), self.events
            return [e.event_type for e in self.events]


@pytest.fixture
def running(stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator]) -> Callable[..., Config]:
    def make(**options: Any) -> Config:
        config = stackless(**options)
        emulate(config)
        return config

    return make


@pytest.mark.parametrize(("channel", "storage"), COMBINATIONS)
def test_a_session_does_every_operation_and_watch(running: Callable[..., Config], channel: str, storage: str) -> None:
    config = running(channel=channel, storage=storage)
    with FaaSKeeperClient(config, timeout=10) as client, FaaSKeeperClient(config, timeout=10) as other:
        assert client.session_status == "CONNECTED"
        created = client.create("/app", b"v1")
        assert created.stat.version == 0
        with pytest.raises(NodeExistsException):
            client.create("/app")
        data_watch, exists_watch, children_watch = Events(), Events(), Events()
        assert other.get_data("/app", watch=data_watch).data == b"v1"
        assert other.exists("/app/child", watch=exists_watch) is None
        assert other.get_children("/app", watch=children_watch) == []
        client.create("/app/child", b"c", ephemeral=True)
        assert exists_watch.wait() == [WatchEventType.NODE_CREATED]
        assert children_watch.wait() == [WatchEventType.NODE_CHILDREN_CHANGED]
        updated = client.set_data("/app", b"v2", version=0)
        assert updated.stat.version == 1
        assert data_watch.wait() == [WatchEventType.NODE_DATA_CHANGED]
        with pytest.raises(BadVersionError):
            client.set_data("/app", b"v3", version=0)
        assert other.get_data("/app").data == b"v2"
        sequential = client.create("/app/seq-", sequential=True)
        assert sequential.path == "/app/seq-0000000001"
        names = sorted(n.path for n in other.get_children("/app"))
        assert names == ["/app/child", "/app/seq-0000000001"]
        with pytest.raises(NotEmptyException):
            client.delete("/app")
        child = other.exists("/app/child")
        assert child is not None
        assert child.stat.ephemeral_owner == client.session_id
        gone = Events()
        other.exists("/app/child", watch=gone)
        client.stop()
        assert gone.wait() == [WatchEventType.NODE_DELETED], "a closed session's ephemeral nodes go"
        assert other.exists("/app/child") is None
        other.delete("/app/seq-0000000001")
        other.delete("/app", version=1)
        with pytest.raises(NodeDoesntExistException):
            other.get_data("/app")
        # Over SQS's 256 KiB, so offloaded to S3 on both queues; under a DynamoDB item's 400 KB.
        big = bytes(range(256)) * 1200
        assert other.create("/big", big).stat.data_length == len(big)
        assert other.get_data("/big").data == big
        # Hybrid storage moves the node into its item and back out to S3.
        assert other.set_data("/big", b"small").stat.data_length == 5
        assert other.get_data("/big").data == b"small"
        other.set_data("/big", big[::-1])
        assert other.get_data("/big").data == big[::-1]
        other.delete("/big")
        assert other.exists("/big") is None


@pytest.mark.parametrize("channel", ["tcp", "sqs"])
def test_requests_per_operation(
    stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator], channel: str
) -> None:
    """The billable requests of each operation, by the client and the functions (the emulator runs
    them in this process, so METER sees both; the Lambda poller's own requests are counted apart)."""
    config = stackless(channel=channel, heartbeat=60, session_timeout=180)  # no heartbeat while measuring
    poller = Meter()
    emulator = emulate(config, meter=poller)
    counts: dict[str, dict[tuple[str, str], int]] = {}
    polled: dict[str, dict[tuple[str, str], int]] = {}
    with FaaSKeeperClient(config, timeout=10) as client:
        client.create("/warm", b"x")
        client.get_data("/warm")
        for name, operation in (
            ("create", lambda: client.create("/node", b"data")),
            ("set_data", lambda: client.set_data("/node", b"more")),
            ("get_data", lambda: client.get_data("/node")),
            ("exists", lambda: client.exists("/node")),
            ("get_children", lambda: client.get_children("/")),
            ("delete", lambda: client.delete("/node")),
        ):
            assert emulator.wait_idle()
            before, polls = METER.snapshot(), poller.snapshot()
            operation()
            assert emulator.wait_idle()
            counts[name] = {k: n for k, n in difference(METER.snapshot(), before).items() if k[0] != "lambda:"}
            polled[name] = difference(poller.snapshot(), polls)
    for name, count in counts.items():
        print(f"{channel} {name}:", {f"{s}.{o}": n for (s, o), n in count.items()})
        print(f"{channel} {name} Lambda poller:", {f"{s}.{o}": n for (s, o), n in polled[name].items() if s == "sqs"})
    for read in ("get_data", "exists", "get_children"):
        assert sum(counts[read].values()) == 1, f"a read is one request: {counts[read]}"
    for write in ("create", "set_data", "delete"):
        assert polled[write][("lambda", "Invoke")] == 2, "a write runs the writer and the distributor once each"
        assert counts[write][("sqs", "SendMessage")] == (3 if channel == "sqs" else 2), counts[write]
