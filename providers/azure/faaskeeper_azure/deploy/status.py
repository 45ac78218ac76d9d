"""``fk status`` on Azure: the deployment's Cosmos DB database and containers, blob containers and
Storage Queues (with a subscription, also the template's deployment and its resources), live
sessions, nodes, watches, and per queue-triggered function its queue.

A Storage Queue tells only an approximate count of its messages, visible or hidden: the writer's
is shown as waiting, with nothing in flight told apart (None). The distributor's waiting events
are exact: the records of its log past the cursor (:mod:`faaskeeper.protocol.sequencer`), whatever
doorbells its queue holds. Dead letters are the messages of each function's poison queue.
"""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import SILENT, DeploymentStatus, QueueStatus, Reporter, ResourceStatus
from faaskeeper.config import Config, StorageType
from faaskeeper_azure.deploy import cloud
from faaskeeper_azure.deploy.cloud_options import CloudOptions
from faaskeeper_azure.deploy.resources import QUEUED_FUNCTIONS, queue_names
from faaskeeper_azure.deployment import AzureDeployment, storage_queues
from faaskeeper_azure.errors import Refused, azure_errors, is_missing
from faaskeeper_azure.queues import StorageQueues, payload_container, poison_queue
from faaskeeper_azure.settings import AzureSettings

PRESENT = "present"
MISSING = "missing"


def _exists(action: str, probe: Callable[[], object]) -> bool:
    with azure_errors(action):
        try:
            probe()
        except Refused as err:
            if is_missing(err):
                return False
            raise
    return True


def database_exists(settings: AzureSettings) -> bool:
    return _exists(f"read the Cosmos DB database {settings.database}", lambda: settings.database_client().read())


def cosmos_resources(config: Config, settings: AzureSettings) -> list[ResourceStatus]:
    """The database and its containers (the key-value user nodes' only with that user storage)."""
    database = settings.database_client()
    found = [ResourceStatus(kind="Cosmos DB database", name=settings.database, state=PRESENT)]
    containers = [settings.names.system_container]
    if config.user_storage is StorageType.KEY_VALUE:
        containers.append(settings.names.user_container)
    for name in containers:
        there = _exists(f"read the Cosmos DB container {name}", database.get_container_client(name).read)
        found.append(ResourceStatus(kind="Cosmos DB container", name=name, state=PRESENT if there else MISSING))
    return found


def blob_resources(config: Config, settings: AzureSettings) -> list[ResourceStatus]:
    names = [payload_container(settings.names.prefix)]
    if config.user_storage is not StorageType.KEY_VALUE:
        names.insert(0, settings.names.blob_container)
    service = settings.blob_service()
    found = []
    for name in names:
        there = _exists(f"read the blob container {name}", service.get_container_client(name).get_container_properties)
        found.append(ResourceStatus(kind="blob container", name=name, state=PRESENT if there else MISSING))
    return found


def queue_depth(queues: StorageQueues, name: str) -> int | None:
    """The approximate number of messages in queue ``name``; None if it is missing."""
    with azure_errors(f"read queue {name}"):
        try:
            return int(queues.client(name).get_queue_properties().approximate_message_count or 0)
        except Refused as err:
            if is_missing(err):
                return None
            raise


def queue_resources(
    queues: StorageQueues, settings: AzureSettings
) -> tuple[list[ResourceStatus], dict[str, int | None]]:
    """Each Storage Queue with its state, and its message count (None: missing)."""
    counts = {name: queue_depth(queues, name) for name in queue_names(settings)}
    resources = [
        ResourceStatus(
            kind="Storage Queue", name=name, state=MISSING if count is None else f"{PRESENT}, {count} messages"
        )
        for name, count in counts.items()
    ]
    return resources, counts


def queue_status(settings: AzureSettings, counts: dict[str, int | None], backlog: int) -> list[QueueStatus]:
    """Each queue-triggered function's queue: what waits (the distributor's: its log's backlog) and
    its poison queue's messages."""
    shown = []
    for function in QUEUED_FUNCTIONS:
        name = settings.names.queue(function)
        shown.append(
            QueueStatus(
                name=name,
                waiting=backlog if function == "distributor" else counts.get(name),
                in_flight=None,
                dead_letters=counts.get(poison_queue(name)),
            )
        )
    return shown


def service_status(config: Config, settings: AzureSettings, *, reporter: Reporter = SILENT) -> DeploymentStatus:
    options = CloudOptions.of(config)
    deployment_name = settings.names.deployment
    reporter.step(f"reading the Cosmos DB database, blob containers and Storage Queues of {deployment_name!r}")
    arm = cloud.resources(cloud.connect(options), options) if options is not None else []
    if options is not None and (settings.cosmos_endpoint is None or settings.storage_connection_string is None):
        # The config fk deploy has not written back yet: it names no account to look into.
        unfinished: DeploymentStatus = {"provider": "azure", "deployed": False, "deployment": deployment_name}
        made = [r for r in arm if r["state"] != MISSING]
        if made:
            unfinished["resources"] = made
        return unfinished
    queues = storage_queues(settings)
    try:
        queue_found, counts = queue_resources(queues, settings)
    finally:
        queues.close()
    if not database_exists(settings):
        left = [r for r in [*arm, *queue_found, *blob_resources(config, settings)] if r["state"] != MISSING]
        status: DeploymentStatus = {"provider": "azure", "deployed": False, "deployment": deployment_name}
        if left:  # a deployment half removed, or half made
            status["resources"] = left
        return status
    resources = [*arm, *cosmos_resources(config, settings), *blob_resources(config, settings), *queue_found]
    reporter.step("counting sessions, nodes and watches, and the poison queues' messages")
    deployment = AzureDeployment(config, settings)
    try:
        storage = deployment.system_storage
        allocated, applied = deployment.distributor_queue.positions()
        details = {"database": settings.database, "transactions": str(allocated)}
        if options is not None:
            details.update({"subscription": options.subscription, "resource group": options.resource_group})
        endpoint = deployment.functions_endpoint or (options.function_url if options is not None else "")
        details["functions endpoint"] = endpoint
        return {
            "provider": "azure",
            "deployed": True,
            "deployment": deployment_name,
            "resources": resources,
            "nodes": storage.count_nodes(),
            "sessions": sum(1 for session in storage.list_sessions() if session.status == "active"),
            "watches": storage.count_watches(),
            "queues": queue_status(settings, counts, allocated - applied),
            "details": details,
        }
    finally:
        deployment.close()
