"""The Azure emulators: Azurite (blob, queue, table) and a Cosmos DB server, started by
:mod:`faaskeeper_azure.emulator.servers`."""
