"""The watch function's request and report, its handling of a request, and the distributor's
choice between delivering itself and handing a fan-out to the watch function."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.storage import WatchKind, WatchRecord
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.messages import Op
from faaskeeper.protocol.notify import Notifier, fired_watches
from faaskeeper.protocol.settings import FunctionSettings
from faaskeeper.protocol.watch_delivery import (
    ClientEvents,
    DeliveryReport,
    Undelivered,
    WatchDelivery,
    notification,
)
from faaskeeper.protocol.watch_function import InProcessWatchInvoker, WatchFunction, WatchInvoker
from faaskeeper.watch import WatchEventType
from faaskeeper_local.storage.database import Database
from faaskeeper_local.storage.system import LocalSystemStorage

CHANGED, CHILDREN = WatchEventType.NODE_DATA_CHANGED, WatchEventType.NODE_CHILDREN_CHANGED


class Recorder(ChannelSender):
    """Keeps what is sent, per address; addresses in ``unreachable`` fail from their ``n``-th message."""

    def __init__(self, unreachable: dict[str, int] | None = None) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self._unreachable = unreachable or {}
        self._guard = threading.Lock()

    def send(self, address: str, message: bytes) -> None:
        with self._guard:
            count = sum(1 for a, _ in self.sent if a == address)
            if address in self._unreachable and count >= self._unreachable[address]:
                raise ProviderException(f"{address} refused the connection")
            self.sent.append((address, message))

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        raise AssertionError("the watch function never asks")

    def to(self, address: str) -> list[dict[str, Any]]:
        return [json.loads(m) for a, m in self.sent if a == address]


def delivery(txn: int = 7, clients: int = 2) -> WatchDelivery:
    return WatchDelivery(
        txn,
        tuple(
            ClientEvents(f"tcp://127.0.0.1:{4000 + i}", (("/a/b", WatchEventType.NODE_CREATED), ("/a", CHILDREN)))
            for i in range(clients)
        ),
    )


# -- the request and the report ---------------------------------------------------------------


def test_a_request_is_plain_json_and_decodes_to_itself() -> None:
    request = delivery()
    assert json.loads(request.encode()) == {
        "kind": "watch-delivery",
        "txn": 7,
        "clients": [
            {
                "address": f"tcp://127.0.0.1:{port}",
                "events": [{"path": "/a/b", "event": "NodeCreated"}, {"path": "/a", "event": "NodeChildrenChanged"}],
            }
            for port in (4000, 4001)
        ],
    }
    assert WatchDelivery.decode(request.encode()) == request
    assert request.messages == 4


def test_a_report_decodes_to_itself() -> None:
    report = DeliveryReport(9, 3, (Undelivered("tcp://127.0.0.1:1", 2, "refused"),))
    assert DeliveryReport.decode(report.encode()) == report
    with pytest.raises(MalformedMessage, match="not a watch report"):
        DeliveryReport.from_json(delivery().to_json())
    with pytest.raises(MalformedMessage, match="'delivered' must be 0 or more"):
        DeliveryReport.from_json({**report.to_json(), "delivered": -1})


def _without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


GOOD = delivery(clients=1).to_json()
CLIENT = GOOD["clients"][0]
MALFORMED = [
    ([1, 2], "a watch delivery must be a JSON object, got list"),
    ({**GOOD, "kind": "watch"}, "not a watch delivery: 'kind' is 'watch'"),
    (_without(GOOD, "txn"), "missing field 'txn'"),
    ({**GOOD, "txn": "7"}, "field 'txn' has the wrong type"),
    ({**GOOD, "txn": True}, "field 'txn' has the wrong type"),
    ({**GOOD, "txn": -1}, "'txn' must be a transaction id"),
    ({**GOOD, "clients": []}, "names no clients"),
    ({**GOOD, "clients": [CLIENT, CLIENT]}, r"clients\[1\]: 'tcp://127.0.0.1:4000' is named twice"),
    ({**GOOD, "clients": [{**CLIENT, "address": ""}]}, r"clients\[0\]: 'address' must be a client channel address"),
    ({**GOOD, "clients": [{**CLIENT, "events": []}]}, r"clients\[0\]: 'events' must be a non-empty list"),
    (
        {**GOOD, "clients": [{**CLIENT, "events": [{"path": "a/b", "event": "NodeCreated"}]}]},
        r"clients\[0\]\.events\[0\]: Path 'a/b' must begin with /",
    ),
    (
        {**GOOD, "clients": [{**CLIENT, "events": [{"path": "/a", "event": "NodeTouched"}]}]},
        r"clients\[0\]\.events\[0\]: 'event' must be one of NodeCreated, .*got 'NodeTouched'",
    ),
]


@pytest.mark.parametrize(("payload", "message"), MALFORMED)
def test_a_malformed_request_is_refused_naming_the_fault_and_nothing_is_sent(payload: Any, message: str) -> None:
    channel = Recorder()
    with pytest.raises(MalformedMessage, match=message):
        WatchFunction(channel).handle(payload)
    assert channel.sent == []


def test_request_bytes_that_are_not_json_are_refused() -> None:
    with pytest.raises(MalformedMessage, match="a watch delivery must be a JSON object"):
        WatchDelivery.decode(b"\xff{")


# -- handling a request -----------------------------------------------------------------------


def test_each_client_gets_its_messages_in_order_and_the_report_counts_them() -> None:
    channel = Recorder()
    request = delivery(txn=11, clients=5)
    report = WatchFunction(channel).handle(request.to_json())
    assert report == {"kind": "watch-report", "txn": 11, "delivered": 10, "undelivered": []}
    for client in request.clients:
        assert channel.to(client.address) == [
            {"kind": "watch", "txn": 11, "path": "/a/b", "event": "NodeCreated"},
            {"kind": "watch", "txn": 11, "path": "/a", "event": "NodeChildrenChanged"},
        ]


class Rendezvous(Recorder):
    """Each of ``parties`` clients' first message waits until every other client's first has
    begun: delivering one client after another cannot get past the first."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self._barrier = threading.Barrier(parties, timeout=10)
        self._met: set[str] = set()

    def send(self, address: str, message: bytes) -> None:
        with self._guard:
            first = address not in self._met
            self._met.add(address)
        if first:
            self._barrier.wait()
        super().send(address, message)


def test_clients_are_served_in_parallel() -> None:
    channel = Rendezvous(4)
    report = WatchFunction(channel, parallelism=4).deliver(delivery(clients=4))
    assert (report.delivered, report.undelivered) == (8, ())


def test_an_unreachable_client_gets_nothing_after_the_failure_and_the_others_everything() -> None:
    request = delivery(txn=3, clients=3)
    lost = request.clients[1].address
    channel = Recorder(unreachable={lost: 1})
    report = WatchFunction(channel).deliver(request)
    assert report.undelivered == (Undelivered(lost, 1, f"{lost} refused the connection"),)
    assert report.delivered == 5
    assert [m["event"] for m in channel.to(lost)] == ["NodeCreated"]
    for client in (request.clients[0], request.clients[2]):
        assert len(channel.to(client.address)) == 2


def test_the_in_process_invoker_goes_through_the_json_and_refuses_what_the_function_refuses() -> None:
    channel = Recorder()
    report = InProcessWatchInvoker(WatchFunction(channel)).invoke(delivery(txn=5, clients=2))
    assert report == DeliveryReport(5, 4)
    bad = WatchDelivery(5, (ClientEvents("tcp://127.0.0.1:1", (("no-slash", CHANGED),)),))
    with pytest.raises(ProviderException, match=r"refused the delivery of transaction 5: .*must begin with /"):
        InProcessWatchInvoker(WatchFunction(channel)).invoke(bad)
    assert len(channel.sent) == 4


# -- the distributor's side -------------------------------------------------------------------


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[LocalSystemStorage]:
    db = Database(tmp_path / "fk.sqlite3", create=True)
    yield LocalSystemStorage(db)
    db.close()


class Counting(WatchInvoker):
    """A watch function reached in process, counting its invocations, or failing each one."""

    def __init__(self, channel: ChannelSender, *, fail: bool = False) -> None:
        self.requests: list[WatchDelivery] = []
        self._inner = InProcessWatchInvoker(WatchFunction(channel))
        self._fail = fail

    def invoke(self, request: WatchDelivery) -> DeliveryReport:
        self.requests.append(request)
        if self._fail:
            raise ProviderException("Lambda throttled the invocation")
        return self._inner.invoke(request)


def watchers(storage: LocalSystemStorage, count: int) -> list[str]:
    """``count`` sessions each holding a data and an exists watch on /n and a children watch on /."""
    addresses = [f"tcp://127.0.0.1:{5000 + i}" for i in range(count)]
    for i, address in enumerate(addresses):
        for kind, path in ((WatchKind.DATA, "/n"), (WatchKind.EXISTS, "/n"), (WatchKind.CHILDREN, "/")):
            storage.add_watch(WatchRecord(path, kind, f"s{i}", 1, address))
    return addresses


def test_the_watches_a_write_fires_become_one_message_per_session_and_event(storage: LocalSystemStorage) -> None:
    addresses = watchers(storage, 2)
    storage.add_watch(WatchRecord("/n", WatchKind.DATA, "later", 50, "tcp://127.0.0.1:9"))
    fired, request = fired_watches(storage, [(Op.DELETE, "/n")], 10)
    assert len(fired) == 6, "both sessions' data, exists and children watches"
    assert request == WatchDelivery(
        10,
        tuple(
            ClientEvents(a, (("/n", WatchEventType.NODE_DELETED), ("/", CHILDREN)))
            for a in addresses  # the data and exists watches share one NodeDeleted
        ),
    )


@pytest.mark.parametrize(("fanout", "handed_over"), [(3, False), (2, True), (0, True)])
def test_fan_outs_over_the_threshold_go_to_the_watch_function(
    storage: LocalSystemStorage, fanout: int, handed_over: bool
) -> None:
    addresses = watchers(storage, 3)
    channel = Recorder()
    remote = Counting(channel)
    Notifier(storage, channel, FunctionSettings(watch_fanout=fanout), remote).fire([(Op.SET_DATA, "/n")], 10)
    assert [r.txn for r in remote.requests] == ([10] if handed_over else [])
    for address in addresses:
        assert channel.to(address) == [json.loads(notification(10, "/n", CHANGED))], "told once"
    assert storage.count_watches() == 3, "the fired data and exists watches are gone, the children watches stay"


def test_a_failed_invocation_leaves_the_delivery_to_the_distributor(storage: LocalSystemStorage) -> None:
    addresses = watchers(storage, 3)
    channel = Recorder()
    remote = Counting(channel, fail=True)
    Notifier(storage, channel, FunctionSettings(watch_fanout=1), remote).fire([(Op.SET_DATA, "/n")], 10)
    assert len(remote.requests) == 1
    assert sorted(a for a, _ in channel.sent) == sorted(addresses), "each watcher told once"
    assert storage.count_watches() == 3


def test_watches_are_removed_only_after_their_delivery(storage: LocalSystemStorage) -> None:
    watchers(storage, 2)
    seen: list[tuple[str, int]] = []

    def fault(point: str) -> None:
        seen.append((point, storage.count_watches()))

    Notifier(storage, Recorder(), FunctionSettings(watch_fanout=0, faults=fault), Counting(Recorder())).fire(
        [(Op.SET_DATA, "/n")], 10
    )
    assert seen == [("watch.deliver", 6), ("watch.delivered", 6)]
    assert storage.count_watches() == 2
