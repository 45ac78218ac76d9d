"""The Cloud Functions entry points fed by real Pub/Sub push deliveries: malformed and forged
messages are dead-lettered (kept in the dead-letter topic's subscription, with the reason) and
never applied, and the functions go on serving; every request is metered."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping

import pytest
from google.api_core import exceptions as google_errors

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.metering import difference
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import DistributorEvent, EventKind, Op, WriteRequest
from faaskeeper.testing.support import Inbox, wait_until
from faaskeeper_gcp import queues
from faaskeeper_gcp.cost.metering import METER
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.functions.functions import PushedMessage
from faaskeeper_gcp.functions.host import DeliveryAttempts, FunctionServer
from faaskeeper_gcp.queues import (
    GROUP_ATTRIBUTE,
    PUBLISH_ATTRIBUTE,
    REASON_ATTRIBUTE,
    SEQUENCE_ATTRIBUTE,
    PubSubQueue,
    Topics,
)
from faaskeeper_gcp.settings import GcpSettings

from .fixtures import gcp_config


@pytest.fixture
def running(deployed: Callable[..., Config], serve: Callable[..., FunctionServer]) -> Config:
    config = deployed()
    serve(config, schedule=False)
    return config


def dead_letters(config: Config, function: str, count: int) -> list[tuple[bytes, dict[str, str]]]:
    """Wait for ``count`` messages in ``function``'s dead-letter subscription; acknowledge them."""
    settings = GcpSettings.from_config(config)
    subscriber = settings.subscriber()
    name = f"projects/{settings.project}/subscriptions/{settings.names.dead_letter_subscription(function)}"
    found: list[tuple[bytes, dict[str, str]]] = []

    def pulled() -> bool:
        response = subscriber.pull(subscription=name, max_messages=10, timeout=2)
        if response.received_messages:
            subscriber.acknowledge(subscription=name, ack_ids=[m.ack_id for m in response.received_messages])
        found.extend((m.message.data, dict(m.message.attributes)) for m in response.received_messages)
        return len(found) >= count

    wait_until(pulled, 20, f"{count} dead-lettered {function} messages", interval=0.1)
    settings.close()
    return found


def publish(config: Config, function: str, data: bytes, ordering_key: str = "", **attributes: str) -> None:
    settings = GcpSettings.from_config(config)
    Topics(settings).publish(settings.names.topic(function), data, ordering_key, attributes)
    settings.close()


def test_garbage_on_the_writer_topic_is_dead_lettered_and_the_session_goes_on(running: Config) -> None:
    client = FaaSKeeperClient(running, timeout=20)
    session = client.start()
    try:
        publish(running, "writer", b"not a request", session, **{GROUP_ATTRIBUTE: session})
        [(data, attributes)] = dead_letters(running, "writer", 1)
        assert data == b"not a request"
        assert "bad magic" in attributes[REASON_ATTRIBUTE]
        node = client.create("/after", b"x")  # the session's ordering key is not blocked
        assert node.path == "/after"
        assert [c.path for c in client.get_children("/")] == ["/after"]
    finally:
        client.stop()


def test_a_message_without_a_group_is_dead_lettered(running: Config) -> None:
    publish(running, "writer", b"FK1whatever")
    [(_, attributes)] = dead_letters(running, "writer", 1)
    assert GROUP_ATTRIBUTE in attributes[REASON_ATTRIBUTE]


def test_a_forged_token_is_dead_lettered_never_applied(running: Config) -> None:
    client = FaaSKeeperClient(running, timeout=20)
    session = client.start()
    try:
        forged = WriteRequest(Op.CREATE, session, "not-the-token", 99, path="/forged", data=b"x")
        publish(running, "writer", forged.encode(), session, **{GROUP_ATTRIBUTE: session})
        [(data, attributes)] = dead_letters(running, "writer", 1)
        assert data == forged.encode()
        assert "wrong token" in attributes[REASON_ATTRIBUTE]
        assert client.exists("/forged") is None
        assert client.create("/real", b"").path == "/real"
    finally:
        client.stop()


def test_a_doorbell_without_an_id_is_dead_lettered(running: Config) -> None:
    publish(running, "distributor", b"", "distributor", **{SEQUENCE_ATTRIBUTE: "soon"})
    [(_, attributes)] = dead_letters(running, "distributor", 1)
    assert "transaction id" in attributes[REASON_ATTRIBUTE]
    client = FaaSKeeperClient(running, timeout=20)
    client.start()
    try:
        assert client.create("/still", b"").path == "/still"
    finally:
        client.stop()


def test_push_payload_shapes() -> None:
    data = {"message": {"data": base64.b64encode(b"body").decode(), "attributes": {"a": "b"}, "messageId": "7"}}
    pushed = PushedMessage.from_event_data(data)
    assert (pushed.data, pushed.attributes, pushed.message_id) == (b"body", {"a": "b"}, "7")
    with pytest.raises(ValueError, match="no Pub/Sub message"):
        PushedMessage.from_event_data({"subscription": "s"})
    with pytest.raises(ValueError, match="not base64"):
        PushedMessage.from_event_data({"message": {"data": "%%%", "messageId": "1"}})


def test_a_pushes_delivery_attempt_is_the_requests_receive_count_only_for_a_first_publish() -> None:
    def delivered(attempt: int, **attributes: str) -> int:
        message = {"data": "", "attributes": {GROUP_ATTRIBUTE: "s1", **attributes}, "messageId": "7"}
        return PushedMessage.from_event_data({"message": message}, attempt).queue_message().receive_count

    assert delivered(1, **{PUBLISH_ATTRIBUTE: "1"}) == 1
    assert delivered(3, **{PUBLISH_ATTRIBUTE: "1"}) == 3
    assert delivered(0, **{PUBLISH_ATTRIBUTE: "1"}) == 0, "a push that does not say is unknown"
    assert delivered(1, **{PUBLISH_ATTRIBUTE: "2"}) == 0, "a retried publish may be a second message of the request"
    assert delivered(1) == 0, "a sender that does not number its publishes"


def test_a_writer_queue_publish_is_retried_by_the_queue_numbering_its_attempts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class FailingTopics(Topics):
        def __init__(self, failures: list[Exception]) -> None:
            self.failures = failures
            self.published: list[tuple[str, bool]] = []

        def publish(
            self,
            topic: str,
            data: bytes,
            ordering_key: str = "",
            attributes: Mapping[str, str] | None = None,
            *,
            retried: bool = True,
        ) -> str:
            self.published.append(((attributes or {})[PUBLISH_ATTRIBUTE], retried))
            if self.failures:
                cause = self.failures.pop(0)
                raise ProviderException(f"publish failed: {cause}") from cause
            return "42"

    monkeypatch.setattr(queues, "PUBLISH_BACKOFF", 0.001)
    settings = GcpSettings.from_config(gcp_config())
    topics = FailingTopics([google_errors.ServiceUnavailable("down"), google_errors.DeadlineExceeded("slow")])
    assert PubSubQueue(settings, topics).send(b"request", "s1", "s1:1") == 42
    assert topics.published == [("1", False), ("2", False), ("3", False)], "the client library retries nothing"
    refused = FailingTopics([google_errors.PermissionDenied("no")])
    with pytest.raises(ProviderException, match="publish failed"):
        PubSubQueue(settings, refused).send(b"request", "s1", "s1:2")
    assert refused.published == [("1", False)], "an error the library would not retry is not retried"


def test_the_host_numbers_each_messages_pushes_as_pubsub_does() -> None:
    attempts = DeliveryAttempts(since=1000.0, keep=2)

    def push(message_id: str, published: str, **extra: object) -> object:
        body: dict[str, object] = {
            "subscription": "projects/p/subscriptions/w",
            "message": {"messageId": message_id, "publishTime": published},
            **extra,
        }
        attempts.number(body)
        return body.get("deliveryAttempt")

    after = "1970-01-01T00:20:00.500Z"  # 1200.5 s
    assert [push("1", after), push("1", after), push("2", after), push("1", after)] == [1, 2, 1, 3]
    assert push("3", "1970-01-01T00:16:39.999Z") is None, "published before the host started: maybe pushed before"
    assert push("4", after, deliveryAttempt=5) == 5, "a push that says is left as it is"
    assert push("5", "1970-01-01T00:20:01Z") == 1
    # Remembering two messages at most, the host forgot "2" (then "1"): their pushes are not numbered again.
    assert push("2", after) is None
    assert push("5", "1970-01-01T00:20:01Z") == 2
    # Listening again from 1300 s: another host may have held the address meanwhile.
    attempts.listening(1300.0)
    assert push("5", "1970-01-01T00:20:01Z") is None
    assert push("6", "1970-01-01T00:21:41Z") == 1


def test_a_first_delivery_reads_no_ancestors(running: Config) -> None:
    """A set_data's writer reads the node's ancestors only on a delivery that may repeat an
    earlier one: the same write costs as many document reads five levels down as at the top."""
    start = METER.snapshot()
    writes = 0

    def settled() -> dict[tuple[str, str], int]:
        """What was counted since the start, once every write's functions have returned."""

        def done() -> bool:
            counted = difference(METER.snapshot(), start)
            return all(counted.get((f"functions:{f}", "invocations"), 0) >= writes for f in ("writer", "distributor"))

        wait_until(done, 10, f"the functions of {writes} writes")
        return difference(METER.snapshot(), start)

    with FaaSKeeperClient(running, timeout=20) as client:
        for path in ("/top", "/a", "/a/b", "/a/b/c", "/a/b/c/d", "/a/b/c/d/deep"):
            client.create(path, b"v0")
            writes += 1

        def reads_of_set_data(path: str) -> int:
            nonlocal writes
            before = settled()[("firestore", "reads")]
            client.set_data(path, b"v1")
            writes += 1
            return settled()[("firestore", "reads")] - before

        deep, top = reads_of_set_data("/a/b/c/d/deep"), reads_of_set_data("/top")
        assert deep == top, f"{deep - top} more documents read five levels down"


def test_requests_of_one_write_are_metered(running: Config) -> None:
    distributed = ("functions:distributor", "invocations")

    def finished(since: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
        """What was counted since ``since``, once the distributor's invocation ended (it goes on
        after answering the client, to finish the transaction)."""
        wait_until(
            lambda: difference(METER.snapshot(), since).get(distributed, 0) >= 1, 10, "the distributor's invocation"
        )
        return difference(METER.snapshot(), since)

    client = FaaSKeeperClient(running, timeout=20)
    client.start()
    try:
        start = METER.snapshot()
        client.create("/metered", b"v0")
        finished(start)
        before = METER.snapshot()
        client.set_data("/metered", b"v1")
        counted = finished(before)
        assert counted[("functions:writer", "invocations")] == 1
        assert counted[("functions:distributor", "invocations")] == 1
        assert counted[("pubsub", "messages")] == 2  # the request and the distributor's doorbell
        assert counted[("pubsub", "deliveries")] == 2  # each pushed to its function
        assert counted[("pubsub", "delivered bytes")] >= 2000  # at least 1000 B billed per push
        assert counted[("firestore", "writes")] >= 4
        assert counted[("firestore", "reads")] >= 4
    finally:
        client.stop()


def test_requests_wait_in_pubsub_until_the_functions_come_up(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer]
) -> None:
    config = deployed()
    server = serve(config, schedule=False)
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    try:
        server.stop()  # pushes now fail (connection refused) and Pub/Sub redelivers them
        pending = [client.create_async(f"/n{i}", b"") for i in range(3)]
        time.sleep(1.0)
        assert not any(f.done() for f in pending)
        server.start()
        assert [f.get(30).path for f in pending] == ["/n0", "/n1", "/n2"]
        created = [client.get_data(f"/n{i}").stat.czxid for i in range(3)]
        assert created == sorted(set(created)), "one session's writes take effect in the order issued"
    finally:
        client.stop()


def test_a_lost_doorbell_is_made_up_by_the_heartbeat(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = deployed()
    serve(config)  # with the heartbeat's schedule
    deployment = get_provider("gcp").open(config)
    assert isinstance(deployment, GcpDeployment)
    inbox = Inbox()
    listener = deployment.listener()
    listener.start(inbox)
    try:
        queue = deployment.distributor_queue

        def lost(seq: int) -> None:
            raise ProviderException("publish failed")

        # The writer appended its event, then its doorbell was lost.
        monkeypatch.setattr(queue, "ring", lost)
        barrier = DistributorEvent(EventKind.BARRIER, "s1", 7, listener.address, Op.DEREGISTER_SESSION)
        seq = queue.send(barrier.encode(), "distributor", "lost-doorbell")
        monkeypatch.undo()
        # Nothing else publishes doorbells here: only the heartbeat's ring can deliver it.
        assert inbox.wait_reply(7, 20).ok
        wait_until(lambda: queue.positions() == (seq, seq), 10, "the log drained")
    finally:
        listener.stop()
        deployment.close()
