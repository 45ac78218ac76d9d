"""What of a deployment exists in AWS (moto), listed by its name prefix, to check removal."""

from __future__ import annotations

from typing import Any

from faaskeeper_aws.settings import AwsSettings


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def inventory(settings: AwsSettings) -> dict[str, list[str]]:
    """Every resource whose name starts with ``faaskeeper-<deployment>-``, by kind."""
    prefix = f"{settings.names.prefix}-"
    lambda_ = settings.client("lambda")
    functions = [f["FunctionName"] for f in _pages(lambda_, "list_functions", "Functions")]
    mappings = [m["FunctionArn"] for m in _pages(lambda_, "list_event_source_mappings", "EventSourceMappings")]
    stacks = settings.client("cloudformation").list_stacks()["StackSummaries"]
    queues = settings.client("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    logs = settings.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")
    found = {
        "stacks": [s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"],
        "tables": _pages(settings.client("dynamodb"), "list_tables", "TableNames"),
        "queues": [url.rsplit("/", 1)[-1] for url in queues],
        "buckets": [b["Name"] for b in settings.client("s3").list_buckets().get("Buckets", [])],
        "functions": functions,
        "mappings": [arn.rsplit(":", 1)[-1] for arn in mappings],
        "roles": [r["RoleName"] for r in _pages(settings.client("iam"), "list_roles", "Roles")],
        "rules": [r["Name"] for r in settings.client("events").list_rules(NamePrefix=prefix).get("Rules", [])],
        "log groups": [g["logGroupName"].removeprefix("/aws/lambda/") for g in logs.get("logGroups", [])],
    }
    stack = settings.names.stack
    return {kind: sorted(n for n in names if n.startswith(prefix) or n == stack) for kind, names in found.items()}


def leftovers(settings: AwsSettings) -> dict[str, list[str]]:
    return {kind: names for kind, names in inventory(settings).items() if names}
