"""Removing a deployment: the stack, then what lives outside it, until nothing of it is left."""

from __future__ import annotations

from typing import Any

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.channel.client_queues import list_client_queues
from faaskeeper_aws.deploy import buckets
from faaskeeper_aws.deploy.iam import log_group_name
from faaskeeper_aws.deploy.logical import FUNCTIONS
from faaskeeper_aws.deploy.stack import Progress, Stack
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings


def remove_deployment(settings: AwsSettings, progress: Progress) -> None:
    """Delete the stack and everything of the deployment outside it; a no-op if nothing is left.

    The stack cannot delete a bucket that holds objects, so the data bucket is emptied first
    (and again if a function wrote to it while the stack was being deleted).
    """
    s3 = settings.client("s3")
    stack = Stack(settings, progress)
    current = stack.describe()
    if current is not None:
        _empty_data_bucket(settings, progress)
        try:
            stack.delete(current["StackId"])
        except ProviderException:
            # Most likely a function wrote to the bucket in the meantime: empty it and try once more.
            again = stack.describe()
            if again is None:
                raise
            progress(f"stack deletion failed ({again['StackStatus']}); retrying")
            _empty_data_bucket(settings, progress)
            stack.delete(again["StackId"])
    if buckets.remove_bucket(s3, settings.data_bucket):
        progress(f"deleted data bucket {settings.data_bucket}")
    if buckets.remove_bucket(s3, settings.names.code_bucket):
        progress(f"deleted code bucket {settings.names.code_bucket}")
    queues = client_queues(settings)
    for url in queues:
        with aws_errors("delete client queue"):
            settings.client("sqs").delete_queue(QueueUrl=url)
    if queues:
        progress(f"deleted {len(queues)} client queues")
    remove_log_groups(settings, progress)


def _empty_data_bucket(settings: AwsSettings, progress: Progress) -> None:
    s3 = settings.client("s3")
    if buckets.bucket_exists(s3, settings.data_bucket):
        progress(f"emptying data bucket {settings.data_bucket}")
        buckets.empty_bucket(s3, settings.data_bucket)


def client_queues(settings: AwsSettings) -> list[str]:
    """URLs of the client queues (inboxes ``<prefix>-client-<id>.fifo`` and their ``-answers``)."""
    return list_client_queues(settings.client("sqs"), settings.names)


def remove_log_groups(settings: AwsSettings, progress: Progress) -> None:
    """Log groups Lambda recreated after the stack deleted its own (a function still running)."""
    logs: Any = settings.client("logs")
    for role in FUNCTIONS:
        name = log_group_name(settings.names, role)
        with aws_errors(f"list log group {name}"):
            found = logs.describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
        if any(group["logGroupName"] == name for group in found):
            with aws_errors(f"delete log group {name}"):
                logs.delete_log_group(logGroupName=name)
            progress(f"deleted log group {name}")
