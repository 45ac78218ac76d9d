"""FaaSKeeper's Azure storages: system storage in Cosmos DB (:mod:`faaskeeper_azure.storage.system`)
and user storage in Blob Storage or Cosmos DB (:mod:`faaskeeper_azure.storage.user`)."""
