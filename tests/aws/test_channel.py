"""The client channel on AWS (moto): the conformance channel suite over TCP and over per-client SQS
queues, then what the SQS channel adds: its queues, answers to requests, offloaded messages,
addresses it refuses, and a listener whose queues are gone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException, SessionExpiredException
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import PING, pong
from faaskeeper.testing import ChannelSuite
from faaskeeper.testing.support import Inbox, wait_until
from faaskeeper_aws.channel.client_queues import ANSWER_ATTRIBUTE, answer_queue, queue_name
from faaskeeper_aws.channel.listener import SqsListener
from faaskeeper_aws.channel.server import AwsClientChannel, SqsChannel
from faaskeeper_aws.queues.payload import PREFIX
from faaskeeper_aws.settings import AwsSettings


@pytest.fixture
def provider() -> Provider:
    return get_provider("aws")


class TestTcpChannel(ChannelSuite):
    @pytest.fixture
    def fk_config(self, stackless: Callable[..., Config]) -> Config:
        return stackless(channel="tcp")


class TestSqsChannel(ChannelSuite):
    @pytest.fixture
    def fk_config(self, stackless: Callable[..., Config]) -> Config:
        return stackless(channel="sqs")


@pytest.fixture
def settings(stackless: Callable[..., Config]) -> AwsSettings:
    return AwsSettings.from_config(stackless(channel="sqs"))


@pytest.fixture
def listener(settings: AwsSettings) -> Iterator[SqsListener]:
    listener = SqsListener(settings, poll_seconds=1)
    yield listener
    listener.stop()


def queues(settings: AwsSettings) -> list[str]:
    urls = settings.client("sqs").list_queues(QueueNamePrefix=f"{settings.names.prefix}-client-").get("QueueUrls", [])
    return sorted(queue_name(url) for url in urls)


def test_listener_owns_an_inbox_and_an_answer_queue(settings: AwsSettings, listener: SqsListener) -> None:
    listener.start(Inbox())
    inbox = settings.names.client_queue(listener.client_id)
    assert listener.address == "sqs:" + listener.queue_url
    assert queue_name(listener.queue_url) == inbox
    assert queues(settings) == sorted([inbox, answer_queue(inbox)])
    listener.stop()
    assert queues(settings) == []


def test_ping_is_answered_with_the_session(settings: AwsSettings, listener: SqsListener) -> None:
    listener.start(Inbox(answer=lambda message: pong("session-1") if message == PING else None))
    channel = AwsClientChannel(settings)
    started = time.monotonic()
    # A long poll of up to 20 s: the answer ends it when it arrives, far sooner even on a slow machine.
    answer = channel.request(listener.address, PING, 30.0)
    assert answer is not None
    assert json.loads(answer)["session"] == "session-1"
    assert time.monotonic() - started < 10, "long polling answers at once, not at the end of its wait"


def test_request_drops_stale_answers(settings: AwsSettings, listener: SqsListener) -> None:
    inbox = Inbox(answer=lambda message: b"answer:" + message)
    listener.start(inbox)
    sqs = settings.client("sqs")
    answers = answer_queue(listener.queue_url)
    for stale in ("an-earlier-request", "another"):
        sqs.send_message(
            QueueUrl=answers,
            MessageBody="b64:c3RhbGU=",
            MessageAttributes={ANSWER_ATTRIBUTE: {"DataType": "String", "StringValue": stale}},
        )
    assert SqsChannel(settings).request(listener.address, b"now", 30.0) == b"answer:now"
    assert sqs.receive_message(QueueUrl=answers).get("Messages", []) == [], "stale answers are deleted"


def test_silent_client_gives_no_answer(settings: AwsSettings, listener: SqsListener) -> None:
    inbox = Inbox()  # answers nothing
    listener.start(inbox)
    started = time.monotonic()
    assert SqsChannel(settings).request(listener.address, PING, 0.5) is None
    # It gives up at its timeout, not at the end of a long poll (20 s), even on a slow machine.
    assert 0.45 <= time.monotonic() - started < 10
    assert inbox.wait_for(1, 30.0) == [PING], "the client got the request"


def test_a_listener_whose_queues_are_deleted_tells_its_client_the_session_is_over(
    settings: AwsSettings, listener: SqsListener
) -> None:
    inbox = Inbox()
    listener.start(inbox)
    for url in (listener.queue_url, answer_queue(listener.queue_url)):
        settings.client("sqs").delete_queue(QueueUrl=url)  # as the heartbeat does after the session ended
    told = wait_until(lambda: inbox.replies(), 30.0, "the listener to tell its client")
    assert [(r.ok, r.error) for r in told] == [(False, SessionExpiredException.code)]


def test_large_message_is_offloaded_and_cleaned_up(settings: AwsSettings, listener: SqsListener) -> None:
    inbox = Inbox()
    listener.start(inbox)
    message = b"n" * 400_000
    SqsChannel(settings).send(listener.address, message)
    assert inbox.wait_for(1, 30.0) == [message]
    s3 = settings.client("s3")
    deadline = time.monotonic() + 30
    while s3.list_objects_v2(Bucket=settings.data_bucket, Prefix=PREFIX).get("KeyCount", 0):
        assert time.monotonic() < deadline, "the offloaded message was not deleted"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "address",
    [
        "sqs:http://127.0.0.1:1/123456789012/faaskeeper-other-client-0123456789abcdef.fifo",
        "sqs:{writer}",
        "sqs:not-a-url",
        "udp://127.0.0.1:9",
    ],
)
def test_refuses_addresses_outside_the_deployments_client_queues(settings: AwsSettings, address: str) -> None:
    writer = settings.client("sqs").get_queue_url(QueueName=settings.names.writer_queue)["QueueUrl"]
    address = address.replace("{writer}", writer)
    channel = AwsClientChannel(settings)
    with pytest.raises(ProviderException):
        channel.send(address, b"forged")
    assert channel.request(address, PING, 0.2) is None
    assert settings.client("sqs").receive_message(QueueUrl=writer).get("Messages", []) == []
