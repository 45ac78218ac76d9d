"""``fk status`` on AWS: the stack, its resources, queue depths, live sessions and nodes."""

from __future__ import annotations

from faaskeeper.api.provider import SILENT, DeploymentStatus, QueueStatus, ResourceStatus
from faaskeeper.config import Config
from faaskeeper_aws.deploy import buckets
from faaskeeper_aws.deploy.mappings import mappings_state
from faaskeeper_aws.deploy.remove import client_queues
from faaskeeper_aws.deploy.stack import Progress, Stack
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings


def service_status(config: Config, settings: AwsSettings, *, progress: Progress = SILENT.step) -> DeploymentStatus:
    names = settings.names
    stack = Stack(settings, progress)
    progress(f"describing stack {names.stack} in {settings.region}")
    current = stack.describe()
    status: DeploymentStatus = {"provider": "aws", "deployed": current is not None, "deployment": names.deployment}
    if current is None:
        status["details"] = {"stack": f"{names.stack} (none in {settings.region})"}
        return status
    progress(f"listing the resources of {names.stack}")
    status["resources"] = [
        ResourceStatus(kind=r["ResourceType"], name=_short(r), state=r["ResourceStatus"]) for r in stack.resources()
    ]
    if buckets.bucket_exists(settings.client("s3"), names.code_bucket):
        status["resources"].append(
            ResourceStatus(kind="AWS::S3::Bucket", name=names.code_bucket, state="outside the stack")
        )
    progress("reading queue depths and event source mappings")
    status["queues"] = [
        queue_status(settings, names.writer_queue, names.writer_dead_letters),
        queue_status(settings, names.distributor_queue, names.distributor_dead_letters),
    ]
    status["details"] = {
        "stack": f"{names.stack}: {current['StackStatus']}",
        "region": settings.region,
        "data bucket": settings.data_bucket,
        "user storage": settings.user_storage.value,
        "client queues": str(len(client_queues(settings))),
        "event source mappings": mappings_state(settings),
    }
    progress("counting sessions, nodes and watches in system storage")
    status["sessions"], status["nodes"], status["watches"] = storage_counts(config)
    return status


def _short(resource: dict[str, str]) -> str:
    """A resource's physical name without the URL or ARN around it (a queue's URL ends in its name)."""
    physical = resource.get("PhysicalResourceId") or resource["LogicalResourceId"]
    if physical.startswith("https://"):
        return physical.rsplit("/", 1)[-1]
    if physical.startswith("arn:"):
        return physical.split(":", 5)[-1]
    return physical


def queue_status(settings: AwsSettings, queue: str, dead_letters: str) -> QueueStatus:
    waiting, in_flight = queue_depth(settings, queue)
    dead_waiting, dead_in_flight = queue_depth(settings, dead_letters)
    return {"name": queue, "waiting": waiting, "in_flight": in_flight, "dead_letters": dead_waiting + dead_in_flight}


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
