"""The Lambda handlers fed events exactly as Lambda's SQS event source builds them (moto): batches
with partial failures, malformed and forged messages dead-lettered, redelivery, the heartbeat."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.queue import QueueMessage
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.environment import function_environment
from faaskeeper.protocol.messages import PING, Op, WriteRequest, pong
from faaskeeper.testing.support import HandSession, Inbox, wait_until
from faaskeeper_aws.deployment import AwsDeployment
from faaskeeper_aws.functions import handlers
from faaskeeper_aws.functions.deployed import handler_environment
from faaskeeper_aws.functions.events import LambdaContext, scheduled_event, sqs_event
from faaskeeper_aws.functions.functions import process_batch
from faaskeeper_aws.functions.host import LambdaEmulator, QueueTrigger
from faaskeeper_aws.queues import REASON_ATTRIBUTE, SqsQueue
from faaskeeper_aws.settings import AwsSettings


def context() -> LambdaContext:
    """A new invocation's context, as Lambda gives each invocation its own."""
    return LambdaContext("faaskeeper-test-writer")


@pytest.fixture
def config(stackless: Callable[..., Config]) -> Config:
    return stackless()


@pytest.fixture
def settings(config: Config) -> AwsSettings:
    return AwsSettings.from_config(config)


@pytest.fixture
def deployment(config: Config) -> Iterator[AwsDeployment]:
    opened = get_provider("aws").open(config)
    assert isinstance(opened, AwsDeployment)
    yield opened
    opened.close()


@pytest.fixture
def environment(config: Config) -> Iterator[None]:
    """FK_CONFIG for the handlers, as the function's configured environment."""
    with function_environment(handler_environment(config)):
        yield


@pytest.fixture
def session(deployment: AwsDeployment) -> Iterator[HandSession]:
    inbox = Inbox(answer=lambda message: None)
    listener: ChannelListener = deployment.listener()
    listener.start(inbox)
    yield HandSession(deployment.writer_queue, listener.address, inbox)
    listener.stop()


def receive_event(settings: AwsSettings, queue: SqsQueue, wait: int = 0) -> dict[str, Any]:
    """The next batch of ``queue`` as Lambda's SQS poller hands it to a function."""
    sqs = settings.client("sqs")
    messages = sqs.receive_message(
        QueueUrl=queue.url,
        MaxNumberOfMessages=10,
        WaitTimeSeconds=wait,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages", [])
    arn = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return sqs_event(messages, arn, settings.region)


def settle(settings: AwsSettings, queue: SqsQueue, event: dict[str, Any], response: dict[str, Any]) -> None:
    """What Lambda does after the function returned: delete what did not fail."""
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for record in event["Records"]:
        if record["messageId"] not in failed:
            settings.client("sqs").delete_message(QueueUrl=queue.url, ReceiptHandle=record["receiptHandle"])


def run(settings: AwsSettings, deployment: AwsDeployment) -> None:
    """Both functions through their Lambda entry points until both queues are empty."""
    for _ in range(20):
        busy = False
        for queue, handler in (
            (deployment.writer_queue, handlers.writer),
            (deployment.distributor_queue, handlers.distributor),
        ):
            event = receive_event(settings, queue)
            if event["Records"]:
                busy = True
                response = handler(event, context())
                assert response == {"batchItemFailures": []}
                settle(settings, queue, event, response)
        if not busy:
            return
    raise AssertionError("the functions kept finding messages")


def dead_letters(settings: AwsSettings, queue: SqsQueue) -> list[dict[str, Any]]:
    return (
        settings.client("sqs")
        .receive_message(QueueUrl=queue.dead_letter_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        .get("Messages", [])
    )


def test_records_have_lambdas_shape(settings: AwsSettings, deployment: AwsDeployment) -> None:
    sequence = deployment.writer_queue.send(b"body", "group-1", "dedup-1")
    [record] = receive_event(settings, deployment.writer_queue)["Records"]
    assert set(record) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":" + settings.names.writer_queue)
    assert record["awsRegion"] == "us-east-1"
    attributes = record["attributes"]
    assert attributes["SequenceNumber"] == str(sequence)
    assert attributes["MessageGroupId"] == "group-1"
    assert attributes["MessageDeduplicationId"] == "dedup-1"
    assert attributes["ApproximateReceiveCount"] == "1"
    assert {"SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(attributes)
    assert all(isinstance(v, str) for v in attributes.values())


def test_writes_run_through_the_entry_points(
    settings: AwsSettings, deployment: AwsDeployment, session: HandSession, environment: None
) -> None:
    registered = session.push(session.request(Op.REGISTER_SESSION))
    created = session.push(session.request(Op.CREATE, "/node", b"data"))
    run(settings, deployment)
    assert session.inbox.wait_reply(registered, 5).ok
    reply = session.inbox.wait_reply(created, 5)
    assert reply.ok
    assert reply.stat is not None
    node = deployment.user_storage.read("/node")
    assert node is not None
    assert node.data == b"data"
    assert node.stat.czxid == reply.stat.czxid > 2**63, "the distributor queue's sequence number is the txn"


def test_a_literal_lambda_record_with_a_malformed_body_is_dead_lettered(
    settings: AwsSettings, deployment: AwsDeployment, environment: None
) -> None:
    queue = deployment.writer_queue
    arn = f"arn:aws:sqs:us-east-1:123456789012:{settings.names.writer_queue}"
    event = {
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a...",
                "body": "Test message.",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1545082649183",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1545082649185",
                    "SequenceNumber": "18849496460467696128",
                    "MessageGroupId": "1",
                    "MessageDeduplicationId": "1",
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
        ]
    }
    assert handlers.writer(event, context()) == {"batchItemFailures": []}, "never retried"
    [dead] = dead_letters(settings, queue)
    assert dead["Body"] == "Test message."
    assert "neither inline" in dead["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"]


def test_malformed_and_forged_messages_are_dead_lettered_and_never_applied(
    settings: AwsSettings, deployment: AwsDeployment, session: HandSession, environment: None
) -> None:
    queue = deployment.writer_queue
    registered = session.push(session.request(Op.REGISTER_SESSION))
    run(settings, deployment)
    assert session.inbox.wait_reply(registered, 5).ok
    raw = settings.client("sqs")
    raw.send_message(QueueUrl=queue.url, MessageBody="garbage", MessageGroupId=session.id, MessageDeduplicationId="g1")
    queue.send(b"FK1 not a header", session.id, "g2")
    forged = WriteRequest(Op.CREATE, session.id, secrets.token_hex(16), session.seq + 1, path="/forged", data=b"x")
    queue.send(forged.encode(), session.id, "forged")
    created = session.push(session.request(Op.CREATE, "/honest", b"ok"))
    event = receive_event(settings, queue)
    assert len(event["Records"]) == 4
    response = handlers.writer(event, context())
    assert response == {"batchItemFailures": []}
    settle(settings, queue, event, response)
    run(settings, deployment)
    reasons = sorted(m["MessageAttributes"][REASON_ATTRIBUTE]["StringValue"] for m in dead_letters(settings, queue))
    assert len(reasons) == 3
    assert any("wrong token" in r for r in reasons), reasons
    assert deployment.user_storage.read("/forged") is None
    assert deployment.system_storage.read_node("/forged") is None
    assert session.inbox.wait_reply(created, 5).ok, "the session goes on after the bad messages"


def test_forged_distributor_event_is_dead_lettered(
    settings: AwsSettings, deployment: AwsDeployment, environment: None
) -> None:
    queue = deployment.distributor_queue
    queue.send(b"FK1\x00\x00\x00\x02{}", "distributor", "forged")
    event = receive_event(settings, queue)
    assert handlers.distributor(event, context()) == {"batchItemFailures": []}
    [dead] = dead_letters(settings, queue)
    assert dead["MessageAttributes"]["fk-source-queue"]["StringValue"] == settings.names.distributor_queue


def test_partial_batch_failure_reports_the_failed_message_and_the_rest_of_its_group(
    settings: AwsSettings, deployment: AwsDeployment
) -> None:
    queue = deployment.writer_queue
    for body, group in ((b"a1", "a"), (b"b1", "b"), (b"a2", "a"), (b"b2", "b"), (b"a3", "a")):
        queue.send(body, group, uuid.uuid4().hex)
    event = receive_event(settings, queue)
    ids = {queue.decode(r["body"]).body: r["messageId"] for r in event["Records"]}
    assert set(ids) == {b"a1", b"a2", b"a3", b"b1", b"b2"}
    handled: list[bytes] = []

    def handle(message: QueueMessage) -> None:
        if message.body == b"a2":
            raise RuntimeError("storage hiccup")
        handled.append(message.body)

    response = process_batch(event, queue, handle)
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[b"a2"]}, {"itemIdentifier": ids[b"a3"]}]}
    assert handled == [b"a1", b"b1", b"b2"]


def _failing_writer(attempts: dict[bytes, list[int]], deployment: AwsDeployment) -> Callable[..., Any]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        def handle(message: QueueMessage) -> None:
            attempts.setdefault(message.body, []).append(message.receive_count)
            if message.body.startswith(b"fail"):
                raise RuntimeError("this message always fails")

        return process_batch(event, deployment.writer_queue, handle)

    return handler


def test_failed_messages_are_redelivered_then_dead_lettered_by_the_redrive_policy(
    settings: AwsSettings, deployment: AwsDeployment
) -> None:
    queue = deployment.writer_queue
    attempts: dict[bytes, list[int]] = {}
    trigger = QueueTrigger("writer", settings.names.writer_queue, _failing_writer(attempts, deployment))
    emulator = LambdaEmulator(settings, [trigger], poll_seconds=1)
    queue.send(b"fail", "a", "1")
    queue.send(b"other", "b", "3")
    with emulator:
        wait_until(lambda: attempts.get(b"fail"), 5, "the first attempt")
        # Sent while the failing message is in flight: it waits behind it, in its batches from
        # the second delivery on, so it counts one receive fewer and outlives its redrive.
        queue.send(b"after", "a", "2")
        wait_until(lambda: dead_letters(settings, queue), 15, "the redrive to the dead-letter queue", interval=0.2)
        wait_until(lambda: b"after" in attempts, 5, "the rest of the group after the dead letter")
    assert attempts[b"fail"] == [1, 2, 3], "redelivered after each visibility timeout, up to maxReceiveCount"
    assert attempts[b"other"] == [1], "another group is not held up"
    assert attempts[b"after"] == [3], "the group goes on, in order, once the failing message is dead-lettered"
    assert queue.depth() == 0


@pytest.mark.parametrize(
    ("response", "deleted"),
    [
        ({"batchItemFailures": []}, 2),
        (None, 2),
        ({}, 2),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-the-batch"}]}, 0),
        ({"batchItemFailures": [{"wrong-key": "x"}]}, 0),
        ("not a response", 0),
        (RuntimeError("crash"), 0),
    ],
)
def test_emulator_settles_batches_as_lambda_does(
    settings: AwsSettings, deployment: AwsDeployment, response: object, deleted: int
) -> None:
    def handler(event: dict[str, Any], context: Any) -> object:
        if isinstance(response, Exception):
            raise response
        return response

    queue = deployment.writer_queue
    queue.send(b"1", "a", "1")
    queue.send(b"2", "b", "2")
    emulator = LambdaEmulator(settings, [QueueTrigger("writer", settings.names.writer_queue, handler)])
    assert emulator.run_once()
    assert queue.depth() == 2 - deleted


def test_a_batch_received_while_stopping_goes_back_to_its_queue_at_once(
    settings: AwsSettings, deployment: AwsDeployment
) -> None:
    invoked: list[object] = []
    queue = deployment.writer_queue
    sqs = settings.client("sqs")
    # Long enough that a message left in flight could not show again during the test.
    sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "60"})
    emulator = LambdaEmulator(
        settings, [QueueTrigger("writer", settings.names.writer_queue, lambda e, c: invoked.append(e))], poll_seconds=10
    )
    emulator.start()
    time.sleep(0.5)  # the poller is in its long poll
    emulator.stop()
    queue.send(b"late", "a", "1")

    def poller_gone() -> bool:
        return not any(thread.name == "faaskeeper-lambda-writer" for thread in threading.enumerate())

    wait_until(poller_gone, 15, "the stopped poller to end its long poll")
    messages = sqs.receive_message(QueueUrl=queue.url, MessageSystemAttributeNames=["All"]).get("Messages", [])
    assert messages, "the stopped poller's batch is visible again at once"
    assert messages[0]["Attributes"]["ApproximateReceiveCount"] == "2", "received by the poller, then released"
    assert invoked == []


def test_handlers_read_their_config_from_the_environment(settings: AwsSettings) -> None:
    with function_environment({}), pytest.raises(ConfigurationException, match="FK_CONFIG"):
        handlers.writer({"Records": []}, context())
    with function_environment({"FK_CONFIG": "{not json"}), pytest.raises(ConfigurationException, match="JSON"):
        handlers.writer({"Records": []}, context())


def test_containers_are_cached_per_config(config: Config, stackless: Callable[..., Config]) -> None:
    with function_environment(handler_environment(config)):
        first = handlers.functions()
        assert handlers.functions() is first
    other = stackless()
    with function_environment(handler_environment(other)):
        assert handlers.functions() is not first


def test_heartbeat_pings_sessions_and_expires_the_silent(
    settings: AwsSettings, deployment: AwsDeployment, config: Config, environment: None
) -> None:
    alive_inbox = Inbox(answer=lambda message: pong(alive.id) if message == PING else None)
    listeners = []
    sessions = []
    for inbox in (alive_inbox, Inbox()):
        listener = deployment.listener()
        listener.start(inbox)
        listeners.append(listener)
        sessions.append(HandSession(deployment.writer_queue, listener.address, inbox))
    alive, silent = sessions
    try:
        for session in sessions:
            session.push(session.request(Op.REGISTER_SESSION))
            session.push(session.request(Op.CREATE, f"/eph-{session.id}", flags=1))
        run(settings, deployment)
        event = scheduled_event(
            f"arn:aws:events:us-east-1:123456789012:rule/{settings.names.heartbeat_rule}", "us-east-1"
        )
        first = handlers.heartbeat(event, context())
        assert first == {"alive": 1, "silent": [silent.id], "expired": []}
        time.sleep(config.effective_session_timeout)
        second = handlers.heartbeat(event, context())
        assert second["expired"] == [silent.id]
        run(settings, deployment)
        assert deployment.user_storage.read(f"/eph-{silent.id}") is None
        assert deployment.user_storage.read(f"/eph-{alive.id}") is not None
        assert json.loads(silent.inbox.messages[-1])["kind"] == "expired"
    finally:
        for listener in listeners:
            listener.stop()


def test_an_invocation_at_its_end_leaves_its_messages_to_the_redelivery(
    settings: AwsSettings, deployment: AwsDeployment, session: HandSession, environment: None
) -> None:
    registered = session.push(session.request(Op.REGISTER_SESSION))
    run(settings, deployment)
    assert session.inbox.wait_reply(registered, 5).ok
    created = session.push(session.request(Op.CREATE, "/late", b"x"))
    event = receive_event(settings, deployment.writer_queue)
    ending = LambdaContext("faaskeeper-test-writer", timeout=0.0)  # Lambda is about to kill it
    response = handlers.writer(event, ending)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    locked = deployment.system_storage.read_node("/late")
    assert locked is None or not locked.exists, "nothing committed"
    assert session.inbox.replies(created) == []
    # The message shows again once its visibility timeout passes.
    record = event["Records"][0]
    settings.client("sqs").change_message_visibility(
        QueueUrl=deployment.writer_queue.url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
    )
    run(settings, deployment)
    assert session.inbox.wait_reply(created, 10).ok, "the redelivery commits it"
    node = deployment.user_storage.read("/late")
    assert node is not None
    assert node.data == b"x"
