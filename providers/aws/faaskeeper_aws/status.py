"""``fk status`` on AWS: the stack, its resources, queue depths, live sessions and nodes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from faaskeeper.config import Config
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.logical import FUNCTIONS
from faaskeeper_aws.remove import client_queues
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.stack import Stack


def service_status(config: Config, settings: AwsSettings) -> dict[str, Any]:
    names = settings.names
    stack = Stack(settings, lambda _: None)
    current = stack.describe()
    status: dict[str, Any] = {"provider": "aws", "deployed": current is not None, "stack": names.stack}
    if current is None:
        return status
    status["stack status"] = current["StackStatus"]
    resources = stack.resources()
    states = Counter(r["ResourceStatus"] for r in resources)
    status["resources"] = f"{len(resources)} (" + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + ")"
    status["functions"] = ", ".join(names.function(role) for role in FUNCTIONS)
    status["data bucket"] = settings.data_bucket
    status["user storage"] = settings.user_storage.value
    for label, queue in (("writer queue", names.writer_queue), ("distributor queue", names.distributor_queue)):
        waiting, in_flight = queue_depth(settings, queue)
        status[label] = f"{waiting} waiting, {in_flight} in flight"
    status["dead letters"] = sum(
        queue_depth(settings, q)[0] for q in (names.writer_dead_letters, names.distributor_dead_letters)
    )
    status["client queues"] = len(client_queues(settings))
    status["sessions"], status["nodes"], status["watches"] = storage_counts(config)
    return status


def queue_depth(settings: AwsSettings, queue: str) -> tuple[int, int]:
    """Approximate messages waiting and in flight in ``queue``."""
    sqs = settings.client("sqs")
    with aws_errors(f"read the depth of queue {queue}"):
        url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def storage_counts(config: Config) -> tuple[int, int, int]:
    """Live sessions, existing nodes and registered watches, as system storage counts them (Scans).

    The nodes table also holds tombstones, lock placeholders and index items: only the runtime
    knows which items are nodes, so it counts.
    """
    from faaskeeper_aws.provider import AwsProvider  # the runtime: only for a deployed stack

    deployment = AwsProvider().open(config)
    try:
        storage = deployment.system_storage
        sessions = sum(1 for session in storage.list_sessions() if session.status == "active")
        return sessions, storage.count_nodes(), storage.count_watches()
    finally:
        deployment.close()
