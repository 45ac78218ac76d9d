"""``fk deploy/status/remove --provider aws``: the CloudFormation template, and stacks on moto.

Each test deploys under its own name: the moto server is shared with other modules, never reset.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.deploy.iam import RolePolicies
from faaskeeper_aws.deploy.logical import FUNCTIONS
from faaskeeper_aws.deploy.package import build_package
from faaskeeper_aws.deploy.resources import deploy_functions
from faaskeeper_aws.deploy.template import HANDLERS, RUNTIME, build_template
from faaskeeper_aws.deploy.tunables import DeployOptions
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_deploy.cli import main

from .inventory import leftovers

COMBINATIONS = [
    ("persistent", "sqs"),
    ("persistent", "tcp"),
    ("key-value", "sqs"),
    ("key-value", "tcp"),
    ("hybrid", "sqs"),
    ("hybrid", "tcp"),
]


def config_data(name: str, storage: str = "persistent", channel: str = "sqs") -> dict[str, Any]:
    return {
        "cloud-provider": "aws",
        "deployment-name": name,
        "deployment-region": "us-east-1",
        "user-storage": storage,
        "client-channel": channel,
        "worker-queue": "sqs",
        "distributor-queue": "sqs",
        "aws": {"function-timeout": 5, "visibility-timeout": 10, "max-receive-count": 3},
    }


def unique() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def write_config(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / f"{data['deployment-name']}.json"
    path.write_text(json.dumps(data))
    return path


def template_for(data: dict[str, Any]) -> dict[str, Any]:
    config = Config.deserialize(data)
    return build_template(config, AwsSettings.from_config(config), "functions/x.zip", DeployOptions.from_config(config))


# -- the template, without a server ---------------------------------------------------------


@pytest.mark.parametrize(("storage", "channel"), COMBINATIONS)
def test_template_passes_cfn_lint(storage, channel):
    template = template_for(config_data("lint", storage, channel))
    # Errors, warnings and informational checks; only the experimental I4010 (AI "Context" metadata) is off.
    matches = lint(json.dumps(template, indent=1), config=ManualArgs(regions=["us-east-1"], include_checks=["I"]))
    assert [str(m) for m in matches] == []


def policy_text(policies: RolePolicies, role: str) -> str:
    return json.dumps(policies.statements(role))


@pytest.mark.parametrize(("storage", "channel"), COMBINATIONS)
def test_each_role_gets_only_what_its_function_touches(storage, channel):
    template = template_for(config_data("iam", storage, channel))
    resources = template["Resources"]
    for role in FUNCTIONS:
        statements = resources[f"{role.capitalize()}Role"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        text = json.dumps(statements)
        for statement in statements:  # named actions, no account-wide resource but ListQueues's
            assert all("*" not in action for action in statement["Action"])
            if statement["Action"] == ["sqs:ListQueues"]:  # IAM has no resource for it
                assert (role, statement["Resource"], channel) == ("heartbeat", ["*"], "sqs")
            else:
                assert "*" not in statement["Resource"]
        assert f"faaskeeper-iam-{role}:*" in text  # its own logs only
        assert text.count("log-group:") == 1
        assert ("faaskeeper-iam-client-*.fifo" in text) == (channel == "sqs")
    writer, distributor, heartbeat, watch = (
        json.dumps(resources[f"{r}Role"]["Properties"]["Policies"])
        for r in ("Writer", "Distributor", "Heartbeat", "Watch")
    )
    # The watch function sends to client inboxes and logs; only the distributor invokes it.
    watch_statements = json.loads(watch)[0]["PolicyDocument"]["Statement"]
    assert [s["Sid"] for s in watch_statements] == ["Logs", *(["ClientInboxes"] if channel == "sqs" else [])]
    [invoke] = [
        s for s in json.loads(distributor)[0]["PolicyDocument"]["Statement"] if s["Sid"] == "InvokeWatchFunction"
    ]
    assert (invoke["Action"], invoke["Resource"]) == (
        ["lambda:InvokeFunction"],
        [{"Fn::GetAtt": ["WatchFunction", "Arn"]}],
    )
    assert "lambda:" not in writer + heartbeat + watch
    assert "DataTable" not in writer
    assert "nodes/" not in writer  # user storage is the distributor's alone
    assert "large/" not in writer
    assert ("nodes/" in distributor) == (storage == "persistent")
    assert ("large/" in distributor) == (storage == "hybrid")
    assert ("DataTable" in distributor) == (storage in ("key-value", "hybrid"))
    for other in ("NodesTable", "WatchesTable", "DataTable", "nodes/", "large/", "s3:DeleteObject", "DistributorQueue"):
        assert other not in heartbeat
    assert ("client-*-answers" in heartbeat) == (channel == "sqs")
    assert ("sqs:ReceiveMessage" in heartbeat) == (channel == "sqs")  # only from the answer queues
    # Only the heartbeat deletes queues: client queues, of ended sessions.
    assert "sqs:DeleteQueue" not in writer + distributor
    deletes = [s for s in json.loads(heartbeat)[0]["PolicyDocument"]["Statement"] if "sqs:DeleteQueue" in s["Action"]]
    client_queue = "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:faaskeeper-iam-client-*"
    queues = [{"Fn::Sub": client_queue + suffix} for suffix in (".fifo", "-answers")]
    expected = [(["sqs:DeleteQueue", "sqs:GetQueueAttributes"], queues)]
    assert [(s["Action"], s["Resource"]) for s in deletes] == (expected if channel == "sqs" else [])
    assert "WriterQueue" in heartbeat
    assert "DistributorQueue" in writer
    assert "WriterDeadLetterQueue" in writer
    assert "DistributorDeadLetterQueue" not in writer
    assert "WriterQueue" not in distributor
    assert "DistributorDeadLetterQueue" in distributor
    assert ("DataTable" in resources) == (storage in ("key-value", "hybrid"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deployment-name": "Bad_Name"}, "'deployment-name' must be 1-32 lowercase letters"),
        ({"deployment-name": "x" * 33}, "'deployment-name' must be 1-32"),
        ({"aws": {"function-timeout": 30, "visibility-timeout": 20}}, "'aws.visibility-timeout' (20) must be at least"),
        ({"aws": {"max-receive-count": 0}}, "'aws.max-receive-count' must be an integer from 1"),
        ({"aws": {"function-memory": "big"}}, "'aws.function-memory' must be an integer"),
    ],
)
def test_bad_deploy_options_are_refused_naming_the_key(tmp_path, capsys, change, message):
    path = write_config(tmp_path, {**config_data("opts"), **change})
    assert main(["deploy", "service", "--config", str(path)]) == 1
    assert message in capsys.readouterr().err


def test_heartbeat_schedule_follows_the_frequency_in_whole_minutes():
    def schedule(frequency: float) -> str:
        template = template_for({**config_data("hb"), "heartbeat-frequency": frequency})
        return str(template["Resources"]["HeartbeatSchedule"]["Properties"]["ScheduleExpression"])

    assert schedule(12) == "rate(1 minute)"
    assert schedule(60) == "rate(1 minute)"
    assert schedule(150) == "rate(3 minutes)"


# -- stacks on moto ---------------------------------------------------------------------------


def deployed(moto_server, tmp_path: Path, data: dict[str, Any], *extra: str) -> tuple[Path, Config, AwsSettings]:
    path = write_config(tmp_path, data)
    assert main(["deploy", "service", "--provider", "aws", "--config", str(path), *extra]) == 0
    config = Config.from_file(path)
    return path, config, AwsSettings.from_config(config)


def check_tables(settings: AwsSettings, key_value: bool) -> None:
    ddb = settings.client("dynamodb")
    names = settings.names
    expected = {
        names.nodes_table: [("path", "HASH")],
        names.sessions_table: [("session_id", "HASH")],
        names.watches_table: [("path", "HASH"), ("watch", "RANGE")],
    }
    if key_value:
        expected[names.data_table] = [("path", "HASH")]
    else:
        assert names.data_table not in ddb.list_tables()["TableNames"]
    for table, keys in expected.items():
        description = ddb.describe_table(TableName=table)["Table"]
        assert [(k["AttributeName"], k["KeyType"]) for k in description["KeySchema"]] == keys
        assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def check_queues(settings: AwsSettings) -> None:
    sqs = settings.client("sqs")
    names = settings.names
    for queue, dlq in (
        (names.writer_queue, names.writer_dead_letters),
        (names.distributor_queue, names.distributor_dead_letters),
    ):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        dlq_url = sqs.get_queue_url(QueueName=dlq)["QueueUrl"]
        dlq_attributes = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
        assert attributes["FifoQueue"] == dlq_attributes["FifoQueue"] == "true"
        redrive = json.loads(attributes["RedrivePolicy"])
        assert redrive == {"deadLetterTargetArn": dlq_attributes["QueueArn"], "maxReceiveCount": 3}
        assert int(attributes["VisibilityTimeout"]) == 10  # above the functions' 5 s


def check_functions(settings: AwsSettings, client_config: dict[str, Any]) -> None:
    lambda_ = settings.client("lambda")
    iam = settings.client("iam")
    sqs = settings.client("sqs")
    for role in FUNCTIONS:
        function = lambda_.get_function(FunctionName=settings.names.function(role))["Configuration"]
        assert function["Handler"] == HANDLERS[role] == f"faaskeeper_aws.functions.handlers.{role}"
        assert function["Runtime"] == RUNTIME
        assert function["Timeout"] == (60 if role == "heartbeat" else 5)
        assert json.loads(function["Environment"]["Variables"]["FK_CONFIG"]) == client_config
        role_name = function["Role"].rsplit("/", 1)[-1]
        assert role_name.startswith(f"{settings.names.prefix}-{role.capitalize()}Role")
        assert iam.list_role_policies(RoleName=role_name)["PolicyNames"] == [f"faaskeeper-{role}"]
    for role, queue in (("writer", settings.names.writer_queue), ("distributor", settings.names.distributor_queue)):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        mappings = lambda_.list_event_source_mappings(FunctionName=settings.names.function(role))["EventSourceMappings"]
        assert [(m["EventSourceArn"], m["BatchSize"], m["FunctionResponseTypes"]) for m in mappings] == [
            (queue_arn, 10, ["ReportBatchItemFailures"])
        ]
    watch = settings.names.function("watch")
    assert lambda_.list_event_source_mappings(FunctionName=watch)["EventSourceMappings"] == [], "invoked only"
    events = settings.client("events")
    rule = events.describe_rule(Name=settings.names.heartbeat_rule)
    assert (rule["ScheduleExpression"], rule["State"]) == ("rate(1 minute)", "ENABLED")
    heartbeat = lambda_.get_function(FunctionName=settings.names.function("heartbeat"))["Configuration"]
    targets = events.list_targets_by_rule(Rule=settings.names.heartbeat_rule)["Targets"]
    assert [t["Arn"] for t in targets] == [heartbeat["FunctionArn"]]
    policy = json.loads(lambda_.get_policy(FunctionName=heartbeat["FunctionName"])["Policy"])
    assert [s["Principal"] for s in policy["Statement"]] == [{"Service": "events.amazonaws.com"}]
    assert policy["Statement"][0]["Condition"]["ArnLike"]["AWS:SourceArn"] == rule["Arn"]


def check_root(config: Config) -> None:
    from faaskeeper_aws.provider import AwsProvider  # imports the runtime, written concurrently

    deployment = AwsProvider().open(config)
    try:
        assert deployment.system_storage.read_node("/") is not None
        assert deployment.user_storage.read("/") is not None
    finally:
        deployment.close()


def check_code(settings: AwsSettings) -> None:
    """The functions run the package built from the code as it is now."""
    code_hash = base64.b64encode(hashlib.sha256(build_package().data).digest()).decode()
    lambda_ = settings.client("lambda")
    for role in FUNCTIONS:
        assert (
            lambda_.get_function(FunctionName=settings.names.function(role))["Configuration"]["CodeSha256"] == code_hash
        )


def snapshot(settings: AwsSettings) -> dict[str, Any]:
    """Identities of the deployed resources: equal after a redeploy that changed nothing."""
    stack = settings.client("cloudformation").describe_stacks(StackName=settings.names.stack)["Stacks"][0]
    lambda_ = settings.client("lambda")
    functions = [lambda_.get_function(FunctionName=settings.names.function(r))["Configuration"] for r in FUNCTIONS]
    return {
        "stack": stack["StackId"],
        "functions": [(f["FunctionArn"], f["Role"]) for f in functions],
        "mappings": sorted(
            m["UUID"]
            for f in functions
            for m in lambda_.list_event_source_mappings(FunctionName=f["FunctionName"])["EventSourceMappings"]
        ),
    }


def test_deploy_is_idempotent_clean_recreates_and_remove_leaves_nothing(moto_server, tmp_path, capsys):
    name = unique()
    path, config, settings = deployed(moto_server, tmp_path, config_data(name))
    written = json.loads(path.read_text())
    assert written["aws"]["data-bucket"] == f"faaskeeper-{name}-data"
    assert written["deployment-region"] == "us-east-1"
    assert settings.client("s3").head_bucket(Bucket=settings.data_bucket)
    assert settings.client("s3").head_bucket(Bucket=settings.names.code_bucket)
    check_tables(settings, key_value=False)
    check_queues(settings)
    check_functions(settings, written)
    check_root(config)
    out = capsys.readouterr()
    assert f"aws: creating stack faaskeeper-{name}" in out.err
    assert f"aws: deployed {name!r}" in out.out

    before = snapshot(settings)
    assert main(["deploy", "service", "--config", str(path)]) == 0
    assert json.loads(path.read_text()) == written
    assert snapshot(settings) == before
    check_code(settings)

    capsys.readouterr()
    assert main(["status", "--config", str(path), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["deployed"] is True
    assert re.search(r": (CREATE|UPDATE)_COMPLETE$", status["details"]["stack"])
    assert status["queues"][0] == {
        "name": settings.names.writer_queue,
        "waiting": 0,
        "in_flight": 0,
        "dead_letters": 0,
    }
    assert (status["nodes"], status["sessions"], status["watches"]) == (1, 0, 0)  # the root
    kinds = [r["kind"] for r in status["resources"]]
    assert kinds.count("AWS::Lambda::Function") == 4
    assert kinds.count("AWS::SQS::Queue") == 4
    assert main(["status", "--config", str(path)]) == 0
    table = capsys.readouterr()
    assert f"aws deployment {name!r}: deployed" in table.out
    assert "AWS::DynamoDB::Table" in table.out
    assert f"aws: describing stack faaskeeper-{name}" in table.err

    s3 = settings.client("s3")
    s3.put_object(Bucket=settings.data_bucket, Key="stray", Body=b"x")
    assert main(["deploy", "service", "--config", str(path), "--clean"]) == 0
    assert snapshot(settings)["stack"] != before["stack"]
    assert "Contents" not in s3.list_objects_v2(Bucket=settings.data_bucket, Prefix="stray")
    check_root(config)

    # What a running deployment accumulates outside the stack: objects, a session's reply queue.
    s3.put_object(Bucket=settings.data_bucket, Key="left/behind", Body=b"x")
    inbox = settings.names.client_queue(uuid.uuid4().hex[:16])
    settings.client("sqs").create_queue(QueueName=inbox, Attributes={"FifoQueue": "true"})
    settings.client("sqs").create_queue(QueueName=inbox.removesuffix(".fifo") + "-answers")
    assert main(["remove", "service", "--config", str(path)]) == 0
    assert leftovers(settings) == {}
    assert main(["remove", "service", "--config", str(path)]) == 0  # nothing to remove: fine
    capsys.readouterr()
    assert main(["status", "--config", str(path)]) == 0
    assert f"aws deployment {name!r}: not deployed" in capsys.readouterr().out


def test_key_value_storage_and_function_updates(moto_server, tmp_path, capsys):
    name = unique()
    path, config, settings = deployed(moto_server, tmp_path, config_data(name, "key-value", "tcp"))
    check_tables(settings, key_value=True)
    check_root(config)

    # Moving the nodes between storages is not an update: it takes --clean.
    data = {**json.loads(path.read_text()), "user-storage": "persistent"}
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["deploy", "service", "--config", str(path)]) == 1
    assert "redeploy with --clean" in capsys.readouterr().err
    path, config, settings = deployed(moto_server, tmp_path, data, "--clean")
    check_tables(settings, key_value=False)
    check_root(config)

    from faaskeeper_aws.provider import AwsProvider  # what `fk deploy functions` calls

    AwsProvider().deploy_functions(config)
    check_code(settings)

    assert main(["remove", "service", "--config", str(path)]) == 0
    assert leftovers(settings) == {}


def test_functions_cannot_be_deployed_before_the_service(moto_server):
    config = Config.deserialize(config_data(unique()))
    with pytest.raises(ProviderException, match="run 'fk deploy service' first"):
        deploy_functions(config, AwsSettings.from_config(config), progress=lambda _: None)


def test_aws_options_of_fk_deploy_reach_the_stack_and_the_written_config(moto_server, tmp_path, capsys):
    name = unique()
    data = config_data(name)
    del data["deployment-region"]
    path = write_config(tmp_path, data)
    options = ["--aws-region", "eu-west-1", "--aws-endpoint-url", moto_server.endpoint]
    assert main(["deploy", "service", "--config", str(path), *options, "--aws-function-timeout", "1000"]) == 1
    assert "from 1 to 900, got 1000 (set by --aws-function-timeout)" in capsys.readouterr().err
    assert main(["deploy", "service", "--config", str(path), *options, "--aws-function-memory", "256"]) == 0
    written = json.loads(path.read_text())
    assert written["deployment-region"] == "eu-west-1"
    assert written["aws"]["endpoint-url"] == moto_server.endpoint
    assert written["aws"]["function-memory"] == 256
    settings = AwsSettings.from_config(Config.deserialize(written))
    assert settings.region == "eu-west-1"
    for role in FUNCTIONS:
        function = settings.client("lambda").get_function(FunctionName=settings.names.function(role))
        assert function["Configuration"]["MemorySize"] == 256
    assert main(["remove", "service", "--config", str(path)]) == 0
    assert leftovers(settings) == {}


def test_hybrid_storage_deploys_its_table_and_bucket_and_removes_its_objects(moto_server, tmp_path):
    from faaskeeper.node import Node, Stat
    from faaskeeper_aws.provider import AwsProvider
    from faaskeeper_aws.storage.hybrid import INLINE_LIMIT, HybridUserStorage

    path, config, settings = deployed(moto_server, tmp_path, config_data(unique(), "hybrid", "tcp"))
    check_tables(settings, key_value=True)
    check_root(config)
    deployment = AwsProvider().open(config)
    try:
        assert isinstance(deployment.user_storage, HybridUserStorage)
        large = b"x" * (INLINE_LIMIT * 2)
        deployment.user_storage.write(Node("/large", large, Stat(), []))
        found = deployment.user_storage.read("/large")
        assert found is not None
        assert found.data == large
    finally:
        deployment.close()
    assert main(["remove", "service", "--config", str(path)]) == 0
    assert leftovers(settings) == {}
