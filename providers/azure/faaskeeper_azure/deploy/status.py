"""``fk status`` on Azure: the deployment's Cosmos DB database and containers, blob containers and
Storage Queues, live sessions, nodes, watches, and per queue-triggered function its queue: the
messages waiting (Storage Queues tell an approximate count, hidden messages included, so nothing
is told in flight) and those its poison queue keeps. The distributor's waiting events are exact:
the records of its log past the cursor (:mod:`faaskeeper.protocol.sequencer`)."""

from __future__ import annotations

from faaskeeper.api.provider import SILENT, DeploymentStatus, QueueStatus, Reporter, ResourceStatus
from faaskeeper.config import Config, StorageType
from faaskeeper_azure.deploy.resources import QUEUED_FUNCTIONS
from faaskeeper_azure.deployment import AzureDeployment, storage_queues
from faaskeeper_azure.errors import Refused, azure_errors, is_missing
from faaskeeper_azure.queues import StorageQueues, payload_container, poison_queue
from faaskeeper_azure.settings import AzureSettings


def queue_depth(queues: StorageQueues, name: str) -> int | None:
    """The approximate number of messages in queue ``name``; None if it is missing."""
    with azure_errors(f"read the properties of queue {name}"):
        try:
            return int(queues.client(name).get_queue_properties().approximate_message_count or 0)
        except Refused as err:
            if is_missing(err):
                return None
            raise


def _present(exists: bool) -> str:
    return "present" if exists else "missing"


def storage_resources(config: Config, settings: AzureSettings, queues: StorageQueues) -> list[ResourceStatus]:
    """Each resource the deployment should have, with whether it exists."""
    names = settings.names
    found: list[ResourceStatus] = []
    with azure_errors(f"read the Cosmos DB database {settings.database}"):
        try:
            containers = {c["id"] for c in settings.database_client().list_containers()}
            database = True
        except Refused as err:
            if not is_missing(err):
                raise
            containers, database = set(), False
    found.append(ResourceStatus(kind="Cosmos DB database", name=settings.database, state=_present(database)))
    wanted = [names.system_container]
    if config.user_storage is StorageType.KEY_VALUE:
        wanted.append(names.user_container)
    found += [ResourceStatus(kind="Cosmos DB container", name=c, state=_present(c in containers)) for c in wanted]
    blobs = [payload_container(names.prefix)]
    if config.user_storage is StorageType.PERSISTENT:
        blobs.insert(0, names.blob_container)
    service = settings.blob_service()
    for name in blobs:
        with azure_errors(f"read the blob container {name}"):
            exists = bool(service.get_container_client(name).exists())
        found.append(ResourceStatus(kind="blob container", name=name, state=_present(exists)))
    for function in QUEUED_FUNCTIONS:
        for name in (names.queue(function), poison_queue(names.queue(function))):
            depth = queue_depth(queues, name)
            state = "missing" if depth is None else f"present, {depth} messages"
            found.append(ResourceStatus(kind="Storage Queue", name=name, state=state))
    return found


def service_status(config: Config, settings: AzureSettings, *, reporter: Reporter = SILENT) -> DeploymentStatus:
    reporter.step(
        f"reading the Cosmos DB database, blob containers and Storage Queues of {settings.names.deployment!r}"
    )
    queues = storage_queues(settings)
    try:
        resources = storage_resources(config, settings, queues)
        if any(r["state"] == "missing" for r in resources if r["kind"].startswith("Cosmos DB")):
            status: DeploymentStatus = {"provider": "azure", "deployed": False, "deployment": settings.names.deployment}
            left = [r for r in resources if r["state"] != "missing"]
            if left:  # a deployment half removed, or half made
                status["resources"] = left
            return status
        reporter.step("counting sessions, nodes and watches, and the messages of each queue")
        deployment = AzureDeployment(config, settings)
        try:
            storage = deployment.system_storage
            allocated, applied = deployment.distributor_queue.positions()
            names = settings.names
            return {
                "provider": "azure",
                "deployed": True,
                "deployment": names.deployment,
                "resources": resources,
                "nodes": storage.count_nodes(),
                "sessions": sum(1 for session in storage.list_sessions() if session.status == "active"),
                "watches": storage.count_watches(),
                "queues": [
                    QueueStatus(
                        name=names.queue(function),
                        waiting=allocated - applied
                        if function == "distributor"
                        else queue_depth(queues, names.queue(function)),
                        in_flight=None,
                        dead_letters=queue_depth(queues, poison_queue(names.queue(function))),
                    )
                    for function in QUEUED_FUNCTIONS
                ],
                "details": {
                    "database": settings.database,
                    "functions endpoint": deployment.functions_endpoint or "",
                    "transactions": str(allocated),
                },
            }
        finally:
            deployment.close()
    finally:
        queues.close()
