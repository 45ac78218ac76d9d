"""The ARM template of a deployment to a subscription, built as a Python dict (resource group scope).

Resources, named by :class:`~faaskeeper_azure.deploy.cloud_options.CloudOptions` and
:class:`~faaskeeper_azure.names.ResourceNames`:

- a storage account (StorageV2, no shared keys: everything signs in with an identity) with the
  blob containers of the user nodes (``"user-storage": "persistent"``), of large requests and of
  the functions' package, and the Storage Queues of the writer and the distributor with their
  poison queues;
- a serverless Cosmos DB account (NoSQL API, strong consistency in its one region, no keys) with
  the deployment's database and its containers, each partitioned on ``/pk`` as the storage keys
  its items (:mod:`faaskeeper_azure.storage.system`);
- a Function App on the Flex Consumption plan (Python 3.11) with a system-assigned identity,
  its app settings (:func:`faaskeeper_azure.functions.function_app.app_settings`, the queue
  trigger's and the host's storage reached through the identity, the watch function's URL and
  key for the distributor);
- the least role assignments of that identity: Storage Queue Data Contributor and Storage Blob
  Data Contributor on the storage account, Cosmos DB Built-in Data Contributor on the database
  alone; the same for the deploying principal, which writes the root node and reads ``fk status``.

Role assignments are named by :func:`assignment_name`, a UUID of what they grant to whom, so
deploying again changes none of them and removing finds them.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from faaskeeper.config import Config, StorageType
from faaskeeper_azure.deploy.cloud_options import CloudOptions
from faaskeeper_azure.functions.function_app import STORAGE_CONNECTION, app_settings
from faaskeeper_azure.functions.watch import ENV_WATCH_KEY, ENV_WATCH_URL, WATCH_ROUTE
from faaskeeper_azure.names import PARTITION_KEY_PATH
from faaskeeper_azure.queues import payload_container, poison_queue
from faaskeeper_azure.settings import AzureSettings

Template = dict[str, Any]

SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
#: API versions of every resource type the template declares.
API_VERSIONS = {
    "Microsoft.Storage/storageAccounts": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2023-05-01",
    "Microsoft.Storage/storageAccounts/queueServices/queues": "2023-05-01",
    "Microsoft.DocumentDB/databaseAccounts": "2024-05-15",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases": "2024-05-15",
    "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers": "2024-05-15",
    "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments": "2024-05-15",
    "Microsoft.Web/serverfarms": "2023-12-01",
    "Microsoft.Web/sites": "2023-12-01",
    "Microsoft.Web/sites/config": "2023-12-01",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
}
#: Built-in Azure roles (``Microsoft.Authorization/roleDefinitions``) the function app's identity gets.
STORAGE_QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_ROLES = (STORAGE_QUEUE_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_CONTRIBUTOR)
#: Cosmos DB's built-in data-plane role (``sqlRoleDefinitions``): read and write items, no account changes.
COSMOS_DATA_CONTRIBUTOR = "00000000-0000-0000-0000-000000000002"
#: The container the Flex Consumption plan deploys the functions' package from.
PACKAGE_CONTAINER = "app-package"
RUNTIME = {"name": "python", "version": "3.11"}
MAX_INSTANCES = 100
DEPLOYMENT_TAG = "faaskeeper-deployment"
_NAMESPACE = uuid.UUID("0f5ab5a4-5c47-4c1f-9a4e-5e2b8b1c7f11")


def api_version(kind: str) -> str:
    return API_VERSIONS[kind]


def resource_id(kind: str, *names: str) -> str:
    """An ARM expression of the id of the resource ``kind`` named by ``names``."""
    quoted = ", ".join(f"'{name}'" for name in names)
    return f"[resourceId('{kind}', {quoted})]"


def assignment_name(scope: str, role: str, principal: str) -> str:
    """The deterministic name of the assignment of ``role`` at ``scope`` to ``principal``."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope}|{role}|{principal}"))


def _resource(type_: str, name: str, depends_on: list[str] | None = None, **fields: Any) -> dict[str, Any]:
    """A resource of ``type_`` (its API version from :data:`API_VERSIONS`) with ``fields`` (``kind``, ...)."""
    resource: dict[str, Any] = {"type": type_, "apiVersion": api_version(type_), "name": name, **fields}
    if depends_on:
        resource["dependsOn"] = depends_on
    return resource


def blob_containers(config: Config, settings: AzureSettings) -> list[str]:
    names = [payload_container(settings.names.prefix), PACKAGE_CONTAINER]
    if config.user_storage is not StorageType.KEY_VALUE:
        names.insert(0, settings.names.blob_container)
    return names


def cosmos_containers(config: Config, settings: AzureSettings) -> list[str]:
    names = [settings.names.system_container]
    if config.user_storage is StorageType.KEY_VALUE:
        names.append(settings.names.user_container)
    return names


def queues(settings: AzureSettings) -> list[str]:
    functions = [settings.names.queue(function) for function in ("writer", "distributor")]
    return [*functions, *map(poison_queue, functions)]


def _storage(config: Config, settings: AzureSettings, options: CloudOptions, tags: dict[str, str]) -> list[Any]:
    account = options.storage_account
    kind = "Microsoft.Storage/storageAccounts"
    made = [
        _resource(
            kind,
            account,
            location=options.location,
            tags=tags,
            sku={"name": "Standard_LRS"},
            kind="StorageV2",
            properties={
                "minimumTlsVersion": "TLS1_2",
                "supportsHttpsTrafficOnly": True,
                "allowBlobPublicAccess": False,
                "allowSharedKeyAccess": False,
            },
        )
    ]
    account_id = resource_id(kind, account)
    made += [
        _resource(f"{kind}/blobServices/containers", f"{account}/default/{name}", [account_id], properties={})
        for name in blob_containers(config, settings)
    ]
    made += [
        _resource(f"{kind}/queueServices/queues", f"{account}/default/{name}", [account_id], properties={})
        for name in queues(settings)
    ]
    return made


def _cosmos(config: Config, settings: AzureSettings, options: CloudOptions, tags: dict[str, str]) -> list[Any]:
    account, database = options.cosmos_account, settings.database
    kind = "Microsoft.DocumentDB/databaseAccounts"
    made = [
        _resource(
            kind,
            account,
            location=options.location,
            tags=tags,
            kind="GlobalDocumentDB",
            properties={
                "databaseAccountOfferType": "Standard",
                "locations": [{"locationName": options.location, "failoverPriority": 0, "isZoneRedundant": False}],
                # One region: strong consistency is linearizable reads, which the writer's checks need.
                "consistencyPolicy": {"defaultConsistencyLevel": "Strong"},
                "capabilities": [{"name": "EnableServerless"}],
                "disableLocalAuth": True,
                "minimalTlsVersion": "Tls12",
            },
        ),
        _resource(
            f"{kind}/sqlDatabases",
            f"{account}/{database}",
            [resource_id(kind, account)],
            properties={"resource": {"id": database}},
        ),
    ]
    database_id = resource_id(f"{kind}/sqlDatabases", account, database)
    made += [
        _resource(
            f"{kind}/sqlDatabases/containers",
            f"{account}/{database}/{name}",
            [database_id],
            properties={"resource": {"id": name, "partitionKey": {"paths": [PARTITION_KEY_PATH], "kind": "Hash"}}},
        )
        for name in cosmos_containers(config, settings)
    ]
    return made


def function_app_settings(config: Config, options: CloudOptions) -> dict[str, str]:
    """The Function App's settings: the functions' own, and the host's storage through the identity."""
    values = {key: value for key, value in app_settings(config).items() if key != STORAGE_CONNECTION}
    values.update(
        {
            "AzureWebJobsStorage__accountName": options.storage_account,
            f"{STORAGE_CONNECTION}__queueServiceUri": options.storage_endpoint("queue").rstrip("/"),
            ENV_WATCH_URL: f"{options.function_url}/api/{WATCH_ROUTE}",
        }
    )
    return values


def _functions(config: Config, options: CloudOptions, tags: dict[str, str]) -> list[Any]:
    app, plan = options.function_app, options.plan
    site_id = resource_id("Microsoft.Web/sites", app)
    settings = [{"name": k, "value": v} for k, v in sorted(function_app_settings(config, options).items())]
    keys = f"listKeys(concat({site_id[1:-1]}, '/host/default'), '{api_version('Microsoft.Web/sites')}')"
    settings.append({"name": ENV_WATCH_KEY, "value": f"[{keys}.functionKeys.default]"})
    return [
        _resource(
            "Microsoft.Web/serverfarms",
            plan,
            location=options.location,
            tags=tags,
            kind="functionapp",
            sku={"name": "FC1", "tier": "FlexConsumption"},
            properties={"reserved": True},
        ),
        _resource(
            "Microsoft.Web/sites",
            app,
            [
                resource_id("Microsoft.Web/serverfarms", plan),
                resource_id(
                    "Microsoft.Storage/storageAccounts/blobServices/containers",
                    options.storage_account,
                    "default",
                    PACKAGE_CONTAINER,
                ),
            ],
            location=options.location,
            tags=tags,
            kind="functionapp,linux",
            identity={"type": "SystemAssigned"},
            properties={
                "serverFarmId": resource_id("Microsoft.Web/serverfarms", plan),
                "httpsOnly": True,
                "siteConfig": {
                    "minTlsVersion": "1.2",
                    "appSettings": [{"name": "AzureWebJobsStorage__accountName", "value": options.storage_account}],
                },
                "functionAppConfig": {
                    "deployment": {
                        "storage": {
                            "type": "blobContainer",
                            "value": f"{options.storage_endpoint('blob')}{PACKAGE_CONTAINER}",
                            "authentication": {"type": "SystemAssignedIdentity"},
                        }
                    },
                    "scaleAndConcurrency": {
                        "maximumInstanceCount": MAX_INSTANCES,
                        "instanceMemoryMB": options.instance_memory,
                    },
                    "runtime": RUNTIME,
                },
            },
        ),
        # Every setting, once the app (and so its host key, which the distributor calls the watch with) exists.
        _resource(
            "Microsoft.Web/sites/config",
            f"{app}/appsettings",
            [site_id],
            properties={s["name"]: s["value"] for s in settings},
        ),
    ]


def principal_of_app(options: CloudOptions) -> str:
    site = resource_id("Microsoft.Web/sites", options.function_app)[1:-1]
    return f"[reference({site}, '{api_version('Microsoft.Web/sites')}', 'full').identity.principalId]"


def _assignments(settings: AzureSettings, options: CloudOptions, principal_id: str | None) -> list[Any]:
    account_id = resource_id("Microsoft.Storage/storageAccounts", options.storage_account)
    cosmos_id = resource_id("Microsoft.DocumentDB/databaseAccounts", options.cosmos_account)
    database_scope = f"[concat({cosmos_id[1:-1]}, '/dbs/{settings.database}')]"
    site_id = resource_id("Microsoft.Web/sites", options.function_app)
    principals: list[tuple[str, str, str | None]] = [
        (options.function_app, principal_of_app(options), "ServicePrincipal")
    ]
    if principal_id is not None:
        principals.append((principal_id, principal_id, None))
    made = []
    for who, principal, principal_type in principals:
        depends = [account_id] + ([site_id] if who == options.function_app else [])
        for role in STORAGE_ROLES:
            properties = {
                "roleDefinitionId": f"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{role}')]",
                "principalId": principal,
            }
            if principal_type is not None:
                properties["principalType"] = principal_type
            made.append(
                _resource(
                    "Microsoft.Authorization/roleAssignments",
                    assignment_name(options.storage_account, role, who),
                    depends,
                    scope=f"Microsoft.Storage/storageAccounts/{options.storage_account}",
                    properties=properties,
                )
            )
        made.append(
            _resource(
                "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments",
                f"{options.cosmos_account}/{assignment_name(options.cosmos_account, COSMOS_DATA_CONTRIBUTOR, who)}",
                [
                    cosmos_id,
                    resource_id(
                        "Microsoft.DocumentDB/databaseAccounts/sqlDatabases", options.cosmos_account, settings.database
                    ),
                ]
                + ([site_id] if who == options.function_app else []),
                properties={
                    "roleDefinitionId": resource_id(
                        "Microsoft.DocumentDB/databaseAccounts/sqlRoleDefinitions",
                        options.cosmos_account,
                        COSMOS_DATA_CONTRIBUTOR,
                    ),
                    "principalId": principal,
                    "scope": database_scope,
                },
            )
        )
    return made


def _cosmos_endpoint(options: CloudOptions) -> str:
    kind = "Microsoft.DocumentDB/databaseAccounts"
    account = resource_id(kind, options.cosmos_account)[1:-1]
    return f"[reference({account}, '{api_version(kind)}').documentEndpoint]"


def _storage_endpoint(options: CloudOptions, service: str) -> str:
    kind = "Microsoft.Storage/storageAccounts"
    account = resource_id(kind, options.storage_account)[1:-1]
    return f"[reference({account}, '{api_version(kind)}').primaryEndpoints.{service}]"


def build_template(
    config: Config, settings: AzureSettings, options: CloudOptions, principal_id: str | None = None
) -> Template:
    """The template of ``config`` (the client config, which the functions read); ``principal_id``
    (the deploying user or service principal) gets the same data roles as the functions."""
    tags = {DEPLOYMENT_TAG: settings.names.deployment}
    resources = [
        *_storage(config, settings, options, tags),
        *_cosmos(config, settings, options, tags),
        *_functions(config, options, tags),
        *_assignments(settings, options, principal_id),
    ]
    return {
        "$schema": SCHEMA,
        "contentVersion": "1.0.0.0",
        "resources": resources,
        "outputs": {
            "cosmosEndpoint": {"type": "string", "value": _cosmos_endpoint(options)},
            "blobEndpoint": {"type": "string", "value": _storage_endpoint(options, "blob")},
            "queueEndpoint": {"type": "string", "value": _storage_endpoint(options, "queue")},
            "functionApp": {"type": "string", "value": options.function_app},
        },
    }


def template_json(template: Template) -> str:
    return json.dumps(template, indent=2, sort_keys=False)
