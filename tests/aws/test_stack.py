"""CloudFormation answers moto never gives: a no-op update, a failed create with its reasons."""

from __future__ import annotations

import datetime

import pytest
from botocore.stub import Stubber

from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.deploy.stack import Stack
from faaskeeper_aws.settings import AwsSettings

TEMPLATE = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/faaskeeper-stub/1"


@pytest.fixture
def stubbed(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_ENDPOINT_URL": ""}.items():
        monkeypatch.setenv(key, value)
    config = Config.deserialize({"cloud-provider": "aws", "deployment-name": "stub", "deployment-region": "us-east-1"})
    settings = AwsSettings.from_config(config)
    messages: list[str] = []
    stack = Stack(settings, messages.append)
    with Stubber(settings.client("cloudformation")) as stubber:
        yield stack, stubber, messages
        stubber.assert_no_pending_responses()


def test_an_update_that_changes_nothing_is_not_an_error(stubbed):
    stack, stubber, messages = stubbed
    stubber.add_client_error(
        "update_stack", service_error_code="ValidationError", service_message="No updates are to be performed."
    )
    assert stack.update(TEMPLATE) is False
    assert messages[-1] == "stack faaskeeper-stub is up to date"


def test_a_failed_create_reports_what_failed(stubbed):
    stack, stubber, _ = stubbed
    now = datetime.datetime.now(datetime.UTC)
    stubber.add_response("create_stack", {"StackId": STACK_ID})
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {"StackName": stack.name, "StackId": STACK_ID, "CreationTime": now, "StackStatus": "ROLLBACK_COMPLETE"}
            ]
        },
    )
    event = {"StackId": STACK_ID, "EventId": "1", "StackName": stack.name, "Timestamp": now}
    stubber.add_response(
        "describe_stack_events",
        {
            "StackEvents": [
                {
                    **event,
                    "LogicalResourceId": "WriterFunction",
                    "ResourceStatus": "CREATE_FAILED",
                    "ResourceStatusReason": "Resource creation cancelled",
                },
                {
                    **event,
                    "LogicalResourceId": "DataBucket",
                    "ResourceStatus": "CREATE_FAILED",
                    "ResourceStatusReason": "faaskeeper-stub-data already exists",
                },
            ]
        },
    )
    with pytest.raises(
        ProviderException,
        match=r"create stack faaskeeper-stub failed: DataBucket: faaskeeper-stub-data already exists$",
    ):
        stack.create(TEMPLATE)
