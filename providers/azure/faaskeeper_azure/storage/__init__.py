"""FaaSKeeper's Azure storages: system storage in Cosmos DB (:mod:`faaskeeper_azure.storage.system`)
and user storage in Blob Storage or Cosmos DB (:mod:`faaskeeper_azure.storage.user`); the cloud
helpers beside them (:mod:`~faaskeeper_azure.storage.cosmos`, :mod:`~faaskeeper_azure.storage.blobs`)."""

from faaskeeper_azure.storage.system import CosmosSystemStorage
from faaskeeper_azure.storage.user import BlobUserStorage, CosmosUserStorage, user_storage

__all__ = ["BlobUserStorage", "CosmosSystemStorage", "CosmosUserStorage", "user_storage"]
