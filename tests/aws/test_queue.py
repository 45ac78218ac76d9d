"""The writer and distributor queues on SQS FIFO (moto): the conformance queue and fault suites, then
what SQS adds: base64 bodies, bodies offloaded to S3, dead-letter queues, FIFO tokens, batches of
several groups."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

import pytest

from faaskeeper.api.provider import Capability, Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import FaultPointSuite, FaultSuite, PollingQueueSuite, TransactionFaultSuite
from faaskeeper.testing.support import wait_until
from faaskeeper_aws.provider import AwsProvider
from faaskeeper_aws.queues import REASON_ATTRIBUTE, SqsQueue, fifo_token
from faaskeeper_aws.queues.payload import INLINE, POINTER, PREFIX
from faaskeeper_aws.settings import AwsSettings

HIDDEN = 60.0


class PollingAwsProvider(AwsProvider):
    """The AWS provider, declaring that its queues are PollingQueues (SqsQueue is one)."""

    capabilities = frozenset({Capability.POLLING_QUEUES})


@pytest.fixture
def provider() -> Provider:
    assert isinstance(get_provider("aws"), AwsProvider), "the entry point finds the AWS provider"
    return PollingAwsProvider()


@pytest.fixture
def fk_config(stackless: Callable[..., Config]) -> Config:
    return stackless()


class TestSqsQueueConformance(PollingQueueSuite):
    pass


class TestFaultsOverSqs(FaultSuite):
    """The core's functions run by hand over the SQS queues and the AWS storages: deaths mid-write,
    duplicates, malformed and forged messages (POLLING_QUEUES, declared above)."""


class TestFaultPointsOverSqs(FaultPointSuite):
    """Each function dying at each of its fault points over SQS, DynamoDB and S3, every message
    delivered twice with the groups interleaved, and the redelivery cases that follow."""


class TestTransactionFaultsOverSqs(TransactionFaultSuite):
    """A transaction of 50 operations under the same, over SQS, DynamoDB and S3."""


@pytest.fixture
def settings(fk_config: Config) -> AwsSettings:
    return AwsSettings.from_config(fk_config)


@pytest.fixture
def queue(settings: AwsSettings) -> SqsQueue:
    return SqsQueue(settings, settings.names.writer_queue, settings.names.writer_dead_letters)


def dead_letters(settings: AwsSettings, queue: SqsQueue) -> list[dict]:
    sqs = settings.client("sqs")
    return sqs.receive_message(
        QueueUrl=queue.dead_letter_url,
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    ).get("Messages", [])


def payload_objects(settings: AwsSettings) -> list[str]:
    listed = settings.client("s3").list_objects_v2(Bucket=settings.data_bucket, Prefix=PREFIX)
    return [o["Key"] for o in listed.get("Contents", [])]


def test_bodies_are_base64_text(settings: AwsSettings, queue: SqsQueue) -> None:
    queue.send(b"\x00\xffbinary", "g", "d1")
    raw = settings.client("sqs").receive_message(QueueUrl=queue.url)["Messages"][0]
    assert raw["Body"] == INLINE + "AP9iaW5hcnk="


def test_oversize_body_goes_through_s3_and_is_deleted_on_ack(settings: AwsSettings, queue: SqsQueue) -> None:
    body = bytes(range(256)) * 4096  # 1 MiB, FaaSKeeper's data limit, 4x SQS's
    queue.send(body, "g", "big")
    assert len(payload_objects(settings)) == 1
    [message] = queue.receive(10, HIDDEN)
    assert message.body == body
    queue.ack(message)
    assert payload_objects(settings) == []


def test_retried_oversize_send_uploads_once(settings: AwsSettings, queue: SqsQueue) -> None:
    body = b"x" * 300_000
    first = queue.send(body, "g", "same")
    assert queue.send(body, "g", "same") == first
    assert len(payload_objects(settings)) == 1
    assert queue.depth() == 1


def test_dead_letter_keeps_body_reason_and_offloaded_object(settings: AwsSettings, queue: SqsQueue) -> None:
    body = b"y" * 300_000
    sequence = queue.send(body, "g", "poison")
    [message] = queue.receive(1, HIDDEN)
    queue.dead_letter(message, "malformed: test")
    assert queue.depth() == 0
    [dead] = dead_letters(settings, queue)
    assert dead["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] == "malformed: test"
    assert int(dead["MessageAttributes"]["fk-sequence"]["StringValue"]) == sequence
    assert dead["Body"].startswith(POINTER), "the dead letter is the message as it was queued"
    assert queue.decode(dead["Body"]).body == body, "its offloaded body is kept for inspection"


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        INLINE + "not base64!",
        POINTER + "{not json",
        POINTER + json.dumps({"bucket": "elsewhere", "key": "queue-payloads/x", "size": 1, "sha256": "0"}),
        POINTER + json.dumps({"bucket": "{bucket}", "key": "nodes/secret", "size": 1, "sha256": "0"}),
        POINTER + json.dumps({"bucket": "{bucket}", "key": "queue-payloads/missing", "size": 1, "sha256": "0"}),
    ],
)
def test_foreign_message_is_dead_lettered_on_receive(settings: AwsSettings, queue: SqsQueue, text: str) -> None:
    sqs = settings.client("sqs")
    text = text.replace("{bucket}", settings.data_bucket)
    sqs.send_message(QueueUrl=queue.url, MessageBody=text, MessageGroupId="g", MessageDeduplicationId="forged")
    queue.send(b"next", "g", "next")
    assert [m.body for m in queue.receive(10, HIDDEN)] == [b"next"], "the group goes on"
    [dead] = dead_letters(settings, queue)
    assert dead["Body"] == text
    assert dead["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]


def test_offloaded_body_that_does_not_match_its_pointer_is_refused(settings: AwsSettings, queue: SqsQueue) -> None:
    queue.send(b"z" * 300_000, "g", "tampered")
    [key] = payload_objects(settings)
    settings.client("s3").put_object(Bucket=settings.data_bucket, Key=key, Body=b"z" * 299_999 + b"!")
    assert queue.receive(10, HIDDEN) == []
    assert len(dead_letters(settings, queue)) == 1


def test_fifo_tokens() -> None:
    assert fifo_token("session:1:abc") == "session:1:abc"
    long = "x" * 200
    assert len(fifo_token(long)) == 64
    assert fifo_token(long) == fifo_token(long)
    assert fifo_token("with space") != "with space"
    assert fifo_token("") != ""


def test_long_and_odd_dedup_ids_and_groups(queue: SqsQueue) -> None:
    dedup = "d" * 300 + " é"
    first = queue.send(b"m", "group with spaces é", dedup)
    assert queue.send(b"m", "group with spaces é", dedup) == first
    [message] = queue.receive(10, HIDDEN)
    assert message.group == fifo_token("group with spaces é")


def test_a_receive_returns_one_group_and_keeps_the_rest_in_flight(queue: SqsQueue) -> None:
    for i in range(3):
        for group in ("a", "b", "c"):
            queue.send(f"{group}{i}".encode(), group, uuid.uuid4().hex)
    seen: list[list[bytes]] = []
    while True:
        batch = queue.receive(10, HIDDEN)
        if not batch:
            break
        assert len({m.group for m in batch}) == 1
        assert all(m.receive_count == 1 for m in batch), "a buffered message is not received twice"
        seen.append([m.body for m in batch])
        for message in batch:
            queue.ack(message)
    assert sorted(b for batch in seen for b in batch) == sorted(f"{g}{i}".encode() for g in "abc" for i in range(3))
    for group in "abc":
        order = [b for batch in seen for b in batch if b.startswith(group.encode())]
        assert order == [f"{group}{i}".encode() for i in range(3)]


def test_a_group_whose_messages_all_showed_again_is_delivered_again_from_its_oldest(queue: SqsQueue) -> None:
    """An invocation that failed its whole batch (Lambda deletes none of it): after the visibility
    timeout, the group's messages come again in order, never its last first."""
    for i in range(3):
        queue.send(f"m{i}".encode(), "g", uuid.uuid4().hex)
    assert [m.body for m in queue.receive(10, 1)] == [b"m0", b"m1", b"m2"]
    time.sleep(1.3)
    again = queue.receive(10, HIDDEN)
    assert [m.body for m in again] == [b"m0", b"m1", b"m2"]
    assert all(m.receive_count == 2 for m in again)


def test_a_message_in_flight_holds_back_its_group_until_it_shows_again(queue: SqsQueue) -> None:
    for i in range(3):
        queue.send(f"m{i}".encode(), "g", uuid.uuid4().hex)
    receiving = time.monotonic()
    later = queue.receive(10, 1)[1:]
    for message in later:
        queue.ack(message)
    queue.send(b"m3", "g", uuid.uuid4().hex)
    # Nothing of the group while its first message is in flight (on a slow machine its second of
    # visibility may be over already, and it shows again).
    shown = queue.receive(10, HIDDEN)
    assert not shown or time.monotonic() - receiving >= 0.8, "the group's first message is still in flight"
    shown = shown or wait_until(lambda: queue.receive(10, HIDDEN), 30, "the first message to show again")
    assert [m.body for m in shown] == [b"m0", b"m3"]


def test_sequence_numbers_exceed_64_bits_and_increase(queue: SqsQueue) -> None:
    first = queue.send(b"1", "g", "one")
    second = queue.send(b"2", "h", "two")
    assert second > first
    assert first > 2**63, "SQS sequence numbers are 128-bit; faaskeeper_aws.emulator.moto_server makes moto's alike"
