"""The ``fk deploy --azure-...`` options of the Azure provider; each sets a key of the ``"azure"`` section."""

from __future__ import annotations

from faaskeeper.plugins.options import DeployOption, integer, number

CLI_OPTIONS = [
    DeployOption(
        "cosmos-endpoint",
        "azure.cosmos-endpoint",
        "Cosmos DB account endpoint, e.g. the emulator's https://127.0.0.1:PORT (default: AZURE_COSMOS_ENDPOINT)",
        metavar="URL",
    ),
    DeployOption("cosmos-key", "azure.cosmos-key", "Cosmos DB account key (default: AZURE_COSMOS_KEY)", metavar="KEY"),
    DeployOption(
        "storage-connection-string",
        "azure.storage-connection-string",
        "storage account connection string of the queues and blobs (default: AZURE_STORAGE_CONNECTION_STRING)",
        metavar="STRING",
    ),
    DeployOption("database", "azure.database", "Cosmos DB database (default: faaskeeper-NAME)", metavar="DATABASE"),
    DeployOption(
        "functions-endpoint",
        "azure.functions-endpoint",
        "where python -m faaskeeper_azure.emulator serves the HTTP functions, e.g. http://127.0.0.1:7071",
        metavar="URL",
    ),
    DeployOption(
        "lock-max-hold",
        "azure.lock-max-hold",
        "seconds a writer may hold a node lock before another takes it over (default 5)",
        number,
        "SECONDS",
    ),
    DeployOption(
        "subscription",
        "azure.subscription",
        "subscription id to deploy to with an ARM template (without it: to the endpoints, e.g. the emulators)",
        metavar="ID",
    ),
    DeployOption(
        "resource-group",
        "azure.resource-group",
        "resource group of the deployment, created if missing (default: faaskeeper-NAME)",
        metavar="GROUP",
    ),
    DeployOption("location", "azure.location", "Azure region of the resources (default: eastus)", metavar="REGION"),
    DeployOption(
        "instance-memory",
        "azure.instance-memory",
        "MB of each Flex Consumption instance: 512, 2048 or 4096 (default 2048)",
        integer,
        "MB",
    ),
]
