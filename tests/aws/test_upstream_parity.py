"""Upstream client code on an AWS deployment (moto, functions in the Lambda emulator): the
AWS-specific names mean what they meant upstream. ``cfg.provider_config.data_bucket`` is the S3
bucket that holds the nodes, and a failure of an AWS service is an ``AWSException``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import AWSConfig, CloudProvider, Config
from faaskeeper.exceptions import AWSException, ConfigurationException, ProviderException, SessionExpiredException
from faaskeeper.node import Node, Stat
from faaskeeper.operations import (
    CreateNode,
    DeleteNode,
    DeregisterSession,
    ExistsNode,
    GetChildren,
    GetData,
    Operation,
    RegisterSession,
    SetData,
)
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import pong
from faaskeeper.providers.aws import AWSClient
from faaskeeper.providers.serialization import DataReader, DynamoReader, S3Reader
from faaskeeper.queue import EventQueue, ResponseListener, SorterThread, SQSListener, SubmitterThread, WorkQueue
from faaskeeper.stats import StorageStatistics
from faaskeeper.testing.support import Inbox, listeners, wait_until
from faaskeeper.threading import Future
from faaskeeper.watch import Watch, WatchedEvent, WatchType
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.node_format import decode, header
from faaskeeper_aws.storage.s3 import object_key


@pytest.mark.parametrize("section", [{}, {"data-bucket": "upstream-named-bucket"}])
def test_data_bucket_is_the_bucket_the_provider_stores_nodes_in(section: dict[str, Any]) -> None:
    cfg = Config.deserialize(
        {"cloud-provider": "aws", "deployment-name": "dev", "deployment-region": "us-east-1", "aws": section}
    )
    assert isinstance(cfg.provider_config, AWSConfig)
    assert cfg.provider_config.data_bucket == AwsSettings.from_config(cfg).data_bucket
    assert AWSConfig.deserialize(section).get("data-bucket") == section.get("data-bucket")


def test_an_aws_service_failure_is_an_aws_exception() -> None:
    refusal = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")
    with pytest.raises(AWSException, match="AccessDenied") as caught, aws_errors("read node"):
        raise refusal
    assert isinstance(caught.value, ProviderException)


def test_upstream_code_on_an_aws_deployment(
    stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator], tmp_path: Path
) -> None:
    deployed = stackless(storage="persistent", channel="tcp")
    emulate(deployed)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(deployed.serialize()))

    with open(config_file) as f:
        cfg = Config.deserialize(json.load(f))
    assert cfg.cloud_provider == CloudProvider.AWS
    client = FaaSKeeperClient(cfg, -1, True)
    try:
        client.start()
        client.create("/root", b"")
        created = client.create("/root/test2", b"test")
        node = client.get_data("/root/test2")
        assert node.data == b"test"
        assert node.created.system == created.created.system
        assert isinstance(cfg.provider_config, AWSConfig)
        s3 = boto3.client("s3", region_name=cfg.deployment_region)
        stored = s3.get_object(Bucket=cfg.provider_config.data_bucket, Key=object_key("/root/test2"))["Body"].read()
        assert stored.endswith(b"test")
    finally:
        assert client.stop() == "closed"


@pytest.mark.parametrize("storage", ["persistent", "key-value"])
def test_the_upstream_readers_read_what_the_aws_provider_wrote(
    stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator], storage: str
) -> None:
    cfg = stackless(storage=storage, channel="tcp")
    emulate(cfg)
    with FaaSKeeperClient(cfg, timeout=10) as client:
        client.create("/r", b"payload")
        client.create("/r/child", b"")
        written = client.get_data("/r")
    reader: DataReader
    if storage == "persistent":
        reader = S3Reader(cfg)
    else:
        reader = DynamoReader(boto3.client("dynamodb", region_name=cfg.deployment_region), cfg)
    stats = StorageStatistics.instance()
    stats.reset()
    node = reader.get_data("/r")
    assert node is not None
    assert node.data == b"payload"
    assert node.children == ["child"]
    assert node.created.system == written.created.system
    assert node.modified.system == written.modified.system
    bare = reader.get_data("/r", False, False)
    assert bare is not None
    assert not bare.has_data
    assert not bare.has_children
    assert reader.get_data("/missing") is None
    assert len(stats.read_times) == 3
    if storage == "key-value":
        assert stats.read_units >= 3
    else:
        with pytest.raises(ConfigurationException):
            DynamoReader(boto3.client("dynamodb", region_name=cfg.deployment_region), cfg)


def test_s3_reader_serializes_in_the_format_of_the_bucket() -> None:
    node = Node("/a/b", b"\x00data", Stat(czxid=4, mzxid=9, pzxid=9, version=2), ["c", "d"], frozenset({"w1"}))
    body = S3Reader.serialize(node)
    assert body == header(node.stat, node.children or (), node.epoch) + b"\x00data"
    assert S3Reader.deserialize("/a/b", body) == decode("/a/b", body)
    assert S3Reader.deserialize("/a/b", body) == node
    assert S3Reader.deserialize("/a/b", body, False, False) == Node("/a/b", None, node.stat, None, node.epoch)


def test_aws_client_drives_a_session_by_hand(
    stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator]
) -> None:
    cfg = stackless(storage="persistent", channel="tcp")
    emulate(cfg)
    deployment = get_provider("aws").open(cfg)
    session_id = "handdriven"
    inbox = Inbox(answer=lambda m: pong(session_id) if json.loads(m).get("kind") == "ping" else None)
    aws = AWSClient(cfg, deployment=deployment)
    try:
        with listeners(deployment) as listen:
            listener = listen(inbox)
            host, _, port = listener.address.removeprefix("tcp://").rpartition(":")
            address = (host, int(port))
            aws.register_session(session_id, f"{host}:{port}", True)
            assert inbox.wait_reply(1, 10).ok
            aws.send_request(f"{session_id}-0", CreateNode(session_id, "/x", b"v", 0).generate_request())
            assert inbox.wait_reply(2, 10).ok

            fired: list[WatchedEvent] = []
            node, watch = aws.execute_request(GetData(session_id, "/x", fired.append), address)
            assert node.data == b"v"
            assert isinstance(watch, Watch)
            assert watch.watch_type is WatchType.GET_DATA
            assert watch.timestamp == node.modified.system.sum
            exists, _ = aws.execute_request(ExistsNode(session_id, "/x"), address)
            assert exists is not None
            assert not exists.has_data
            children, _ = aws.execute_request(GetChildren(session_id, "/", True), address)
            assert [(c.path, c.data) for c in children] == [("/x", b"v")]

            aws.send_request(f"{session_id}-1", SetData(session_id, "/x", b"w", -1).generate_request())
            assert inbox.wait_reply(3, 10).ok
            notices = wait_until(
                lambda: [m for m in map(json.loads, inbox.messages) if m.get("kind") == "watch"], 10, "the notification"
            )
            assert [(n["path"], n["event"]) for n in notices] == [("/x", "NodeDataChanged")]

            aws.send_request(f"{session_id}-2", DeregisterSession(session_id).generate_request())
            assert inbox.wait_reply(4, 10).ok
            with pytest.raises(SessionExpiredException):
                aws.send_request(f"{session_id}-3", DeleteNode(session_id, "/x", -1).generate_request())
    finally:
        aws.close()
        deployment.close()


@pytest.mark.parametrize("channel", ["tcp", "sqs"])
def test_the_upstream_engine_on_aws(
    stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator], channel: str
) -> None:
    cfg = stackless(storage="key-value", channel=channel)
    emulate(cfg)
    work_queue, event_queue = WorkQueue(), EventQueue()
    listener: ResponseListener | SQSListener
    listener = SQSListener(event_queue, cfg) if channel == "sqs" else ResponseListener(event_queue, -1)
    aws = AWSClient(cfg)
    submitter = SubmitterThread("engine1", aws, work_queue, event_queue, listener)
    sorter = SorterThread(event_queue)

    def call(op: Operation) -> object:
        future: Future[object] = Future()
        work_queue.add_request(op, future)
        return future.get(30)

    try:
        call(RegisterSession("engine1", "", True))
        created = call(CreateNode("engine1", "/e", b"v", 1))
        assert isinstance(created, Node)
        assert created.path == "/e"
        node = call(GetData("engine1", "/e"))
        assert isinstance(node, Node)
        assert node.data == b"v"
        assert node.ephemeral
        assert call(DeregisterSession("engine1")) == "engine1"
    finally:
        event_queue.close()
        listener.stop()
        submitter.stop()
        sorter.stop()
        aws.close()
