"""Create and remove a deployment's resources: the Cosmos DB database and containers, the blob
container of the user nodes, and the Storage Queues of the writer and the distributor with their
poison queues; then the state a new deployment starts from (the root node, the distributor's log).

Against the emulators this is all a deployment is; the functions run under
``python -m faaskeeper_azure.emulator CONFIG``. A config naming ``azure.subscription`` is deployed
there instead: the ARM template makes the accounts, containers, queues and the Function App
(:mod:`faaskeeper_azure.deploy.cloud`), then the state is written as here.
"""

from __future__ import annotations

from faaskeeper.api.provider import SILENT, Reporter
from faaskeeper.config import Config, StorageType
from faaskeeper_azure.deploy import cloud
from faaskeeper_azure.deploy.cloud_options import CloudOptions
from faaskeeper_azure.deployment import AzureDeployment, storage_queues
from faaskeeper_azure.errors import Refused, azure_errors, is_conflict, is_missing
from faaskeeper_azure.queues import StorageQueues, payload_container, poison_queue
from faaskeeper_azure.settings import AzureSettings
from faaskeeper_azure.storage.blobs import create_blob_container, delete_blob_container
from faaskeeper_azure.storage.cosmos import create_containers, delete_database

#: The functions fed by a Storage Queue.
QUEUED_FUNCTIONS = ("writer", "distributor")


def queue_names(settings: AzureSettings) -> list[str]:
    """Every Storage Queue of the deployment: each function's, then its poison queue."""
    names = [settings.names.queue(function) for function in QUEUED_FUNCTIONS]
    return [*names, *map(poison_queue, names)]


def create_queues(queues: StorageQueues, names: list[str]) -> None:
    for name in names:
        with azure_errors(f"create queue {name}"):
            try:
                queues.client(name).create_queue()
            except Refused as err:
                if not is_conflict(err):
                    raise


def delete_queues(queues: StorageQueues, names: list[str]) -> None:
    for name in names:
        with azure_errors(f"delete queue {name}"):
            try:
                queues.client(name).delete_queue()
            except Refused as err:
                if not is_missing(err):
                    raise


def create_payload_container(settings: AzureSettings) -> None:
    name = payload_container(settings.names.prefix)
    with azure_errors(f"create the blob container {name}"):
        try:
            settings.blob_service().create_container(name)
        except Refused as err:
            if not is_conflict(err):
                raise


def deploy_service(
    config: Config, settings: AzureSettings, *, clean: bool = False, reporter: Reporter = SILENT
) -> Config:
    """Create the deployment's resources (those that exist are kept; with ``clean``, everything is
    removed first); the config clients load."""
    options = CloudOptions.of(config)
    if options is not None:
        return _deploy_to_subscription(config, options, clean=clean, reporter=reporter)
    if clean:
        remove_service(config, settings, reporter=reporter)
    key_value = config.user_storage is StorageType.KEY_VALUE
    containers = [settings.names.system_container] + ([settings.names.user_container] if key_value else [])
    reporter.step(f"creating the Cosmos DB database {settings.database} and its containers {', '.join(containers)}")
    create_containers(settings, user_container=key_value)
    if not key_value:
        reporter.step(f"creating the blob container {settings.names.blob_container}")
        create_blob_container(settings)
    reporter.step(f"creating the blob container {payload_container(settings.names.prefix)} of large requests")
    create_payload_container(settings)
    reporter.step(f"creating the Storage Queues {', '.join(queue_names(settings))}")
    queues = storage_queues(settings)
    try:
        create_queues(queues, queue_names(settings))
    finally:
        queues.close()
    create_state(config, settings, reporter)
    return config


def create_state(config: Config, settings: AzureSettings, reporter: Reporter) -> None:
    reporter.step("creating the root node and the distributor's log")
    deployment = AzureDeployment(config, settings)
    try:
        deployment.system_storage.ensure_root()
        deployment.user_storage.ensure_root()
        deployment.distributor_queue.ensure()
    finally:
        deployment.close()


def _deploy_to_subscription(config: Config, options: CloudOptions, *, clean: bool, reporter: Reporter) -> Config:
    apis = cloud.connect(options)  # a config that cannot be deployed fails before anything changes
    if clean:
        cloud.remove(apis, options, reporter=reporter)
    planned = AzureSettings.from_config(config)
    deployed = cloud.deploy(apis, config, planned, options, reporter=reporter)
    settings = AzureSettings.from_config(deployed)
    try:
        create_state(deployed, settings, reporter)
    finally:
        settings.close()
    cloud.publish_functions(apis, options, reporter=reporter)
    return deployed


def deploy_functions(config: Config, *, reporter: Reporter = SILENT) -> bool:
    """Zip-deploy the functions' package to the Function App of a deployment to a subscription; False
    against the emulators, whose function host runs the installed package."""
    options = CloudOptions.of(config)
    if options is None:
        return False
    cloud.publish_functions(cloud.connect(options), options, reporter=reporter)
    return True


def remove_service(config: Config, settings: AzureSettings, *, reporter: Reporter = SILENT) -> None:
    """Delete the deployment's queues, blob containers and Cosmos DB database (none is an error); with a
    subscription, the resources the template made."""
    options = CloudOptions.of(config)
    if options is not None:
        cloud.remove(cloud.connect(options), options, reporter=reporter)
        return
    payloads = payload_container(settings.names.prefix)
    reporter.step(f"deleting the Storage Queues {', '.join(queue_names(settings))}")
    queues = storage_queues(settings)
    try:
        delete_queues(queues, queue_names(settings))
    finally:
        queues.close()
    reporter.step(f"deleting the blob containers {settings.names.blob_container} and {payloads}")
    delete_blob_container(settings)
    with azure_errors(f"delete the blob container {payloads}"):
        try:
            settings.blob_service().delete_container(payloads)
        except Refused as err:
            if not is_missing(err):
                raise
    reporter.step(f"deleting the Cosmos DB database {settings.database}")
    delete_database(settings)
