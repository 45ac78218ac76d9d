"""``fk status`` on GCP: the deployment's topics, subscriptions (the clients' inboxes too) and
Firestore document (in a real project also its Cloud Functions and scheduler job), live sessions,
nodes, watches and the distributor's backlog."""

from __future__ import annotations

from google.api_core import exceptions as google_errors

from faaskeeper.api.provider import SILENT, DeploymentStatus, Reporter, ResourceStatus
from faaskeeper.config import Config
from faaskeeper_gcp import cloud_deploy
from faaskeeper_gcp.client_inboxes import client_resources
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.names import ANSWERS_SUFFIX
from faaskeeper_gcp.settings import GcpSettings

CLIENT_INBOX = "client inbox"
CLIENT_ANSWERS = "client answers"


def _subscription_state(subscription: object) -> str:
    endpoint = getattr(getattr(subscription, "push_config", None), "push_endpoint", "")
    return f"push to {endpoint}" if endpoint else "pull"


def pubsub_resources(settings: GcpSettings) -> list[ResourceStatus]:
    """Each topic and subscription the deployment should have, with whether it exists."""
    project = f"projects/{settings.project}"
    found: list[ResourceStatus] = []
    publisher, subscriber = settings.publisher(), settings.subscriber()
    for topic in settings.names.topics:
        with gcp_errors(f"read topic {topic}"):
            try:
                publisher.get_topic(topic=f"{project}/topics/{topic}")
                state = "present"
            except google_errors.NotFound:
                state = "missing"
        found.append(ResourceStatus(kind="Pub/Sub topic", name=topic, state=state))
    for name in settings.names.subscriptions:
        with gcp_errors(f"read subscription {name}"):
            try:
                state = _subscription_state(subscriber.get_subscription(subscription=f"{project}/subscriptions/{name}"))
            except google_errors.NotFound:
                state = "missing"
        found.append(ResourceStatus(kind="Pub/Sub subscription", name=name, state=state))
    topics, subscriptions = client_resources(settings)
    found += [ResourceStatus(kind="Pub/Sub topic", name=name, state=_client_role(name)) for name in topics]
    found += [
        ResourceStatus(kind="Pub/Sub subscription", name=name, state=f"{_client_role(name)}, pull")
        for name in subscriptions
    ]
    return found


def cloud_resources(config: Config, settings: GcpSettings) -> list[ResourceStatus]:
    """The Cloud Functions and the scheduler job of a deployment to a real project (none against the emulators)."""
    if settings.functions_endpoint is not None:
        return []
    return cloud_deploy.resources(cloud_deploy.connect(config, settings, deploying=False), settings)


def _client_role(name: str) -> str:
    return CLIENT_ANSWERS if name.endswith(ANSWERS_SUFFIX) else CLIENT_INBOX


def service_status(config: Config, settings: GcpSettings, *, reporter: Reporter = SILENT) -> DeploymentStatus:
    reporter.step(f"reading the Firestore document and Pub/Sub resources of {settings.names.deployment!r}")
    deployment = GcpDeployment(config, settings)
    try:
        root = deployment.documents.root
        document = ResourceStatus(kind="Firestore document", name=root.path, state="present")
        if not deployment.documents.get(root, "read the deployment").exists:
            found = [*pubsub_resources(settings), *cloud_resources(config, settings)]
            topics = [r for r in found if r["state"] != "missing"]
            status: DeploymentStatus = {"provider": "gcp", "deployed": False, "deployment": settings.names.deployment}
            if topics:  # a deployment half removed, or half made
                status["resources"] = topics
            return status
        storage = deployment.system_storage
        allocated, applied = deployment.distributor_queue.positions()
        resources = pubsub_resources(settings)
        return {
            "provider": "gcp",
            "deployed": True,
            "deployment": settings.names.deployment,
            "resources": [*resources, *cloud_resources(config, settings), document],
            "nodes": storage.count_nodes(),
            "sessions": len(storage.list_sessions()),
            "watches": storage.count_watches(),
            "details": {
                "project": settings.project,
                "client inboxes": str(sum(r["state"] == CLIENT_INBOX for r in resources)),
                "functions endpoint": settings.functions_endpoint or "",
                "transactions": str(allocated),
                "distributor backlog": str(allocated - applied),
            },
        }
    finally:
        deployment.close()
