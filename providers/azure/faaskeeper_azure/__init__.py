"""FaaSKeeper on Azure: Cosmos DB system storage, Blob Storage or Cosmos DB user storage, Storage
Queues and Azure Functions."""
