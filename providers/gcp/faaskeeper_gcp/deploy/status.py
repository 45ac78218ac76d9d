"""``fk status`` on GCP: the deployment's topics, subscriptions (the clients' inboxes too) and
Firestore document (in a real project also its Cloud Functions and scheduler job), live sessions,
nodes, watches, and per pushed function its queue: the distributor's backlog and what each
function's dead-letter subscription keeps.

Pub/Sub's API does not tell how many messages a push subscription holds back or has out (Cloud
Monitoring's ``num_undelivered_messages`` does, a minute late): those counts are None. The
distributor's waiting events are exact: the records of its log past the cursor
(:mod:`faaskeeper.protocol.sequencer`). Dead letters are counted by pulling the dead-letter
subscription without acknowledging, then handing every message back at once.
"""

from __future__ import annotations

from google.api_core import exceptions as google_errors

from faaskeeper.api.provider import SILENT, DeploymentStatus, QueueStatus, Reporter, ResourceStatus
from faaskeeper.config import Config
from faaskeeper_gcp.channel.inboxes import client_resources
from faaskeeper_gcp.deploy import cloud as cloud_deploy
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.errors import DeadlineExceeded, gcp_errors
from faaskeeper_gcp.names import ANSWERS_SUFFIX, PUSHED_FUNCTIONS
from faaskeeper_gcp.settings import GcpSettings

CLIENT_INBOX = "client inbox"
CLIENT_ANSWERS = "client answers"
#: Dead letters counted at most, and per pull.
DEAD_LETTER_LIMIT = 10_000
_PULL_BATCH = 1000
#: Seconds a pull of a dead-letter subscription waits for messages (the emulator answers an empty
#: pull when a second is left of it).
_PULL_TIMEOUT = 1.0


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


def dead_letters(settings: GcpSettings, function: str) -> int | None:
    """The messages ``function``'s dead-letter subscription keeps (up to DEAD_LETTER_LIMIT), or None
    if it is missing. Each is pulled, then handed back unacknowledged, so it stays kept."""
    subscriber = settings.subscriber()
    name = settings.names.dead_letter_subscription(function)
    path = f"projects/{settings.project}/subscriptions/{name}"
    held: list[str] = []
    try:
        while len(held) < DEAD_LETTER_LIMIT:
            with gcp_errors(f"count the dead letters in {name}"):
                try:
                    pulled = subscriber.pull(
                        request={"subscription": path, "max_messages": _PULL_BATCH}, timeout=_PULL_TIMEOUT, retry=None
                    ).received_messages
                except DeadlineExceeded:
                    break
                except google_errors.NotFound:
                    return None
            if not pulled:
                break
            held += [received.ack_id for received in pulled]
    finally:
        for start in range(0, len(held), _PULL_BATCH):
            ack_ids = held[start : start + _PULL_BATCH]
            with gcp_errors(f"hand back the dead letters in {name}"):
                subscriber.modify_ack_deadline(
                    request={"subscription": path, "ack_ids": ack_ids, "ack_deadline_seconds": 0}
                )
    return min(len(held), DEAD_LETTER_LIMIT)


def queue_status(settings: GcpSettings, backlog: int) -> list[QueueStatus]:
    """Each pushed function's topic: the distributor's ``backlog`` waiting, and the dead letters."""
    return [
        QueueStatus(
            name=settings.names.topic(function),
            waiting=backlog if function == "distributor" else None,
            in_flight=None,
            dead_letters=dead_letters(settings, function),
        )
        for function in PUSHED_FUNCTIONS
    ]


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
        cloud = cloud_resources(config, settings)
        reporter.step("counting sessions, nodes and watches, and the dead letters of each function")
        return {
            "provider": "gcp",
            "deployed": True,
            "deployment": settings.names.deployment,
            "resources": [*resources, *cloud, document],
            "nodes": storage.count_nodes(),
            "sessions": sum(1 for session in storage.list_sessions() if session.status == "active"),
            "watches": storage.count_watches(),
            "queues": queue_status(settings, allocated - applied),
            "details": {
                "project": settings.project,
                "client inboxes": str(sum(r["state"] == CLIENT_INBOX for r in resources)),
                "functions endpoint": settings.functions_endpoint or "",
                "transactions": str(allocated),
            },
        }
    finally:
        deployment.close()
