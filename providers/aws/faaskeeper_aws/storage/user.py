"""User storage: the backend the config's ``user-storage`` chooses.

* ``persistent``: one S3 object per node (:mod:`faaskeeper_aws.storage.s3`);
* ``key-value``: one DynamoDB item per node (:mod:`faaskeeper_aws.storage.key_value`);
* ``hybrid``: one DynamoDB item per node, naming an S3 object when the node is large
  (:mod:`faaskeeper_aws.storage.hybrid`).
"""

from __future__ import annotations

from faaskeeper.config import StorageType
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.hybrid import HybridUserStorage
from faaskeeper_aws.storage.key_value import DynamoDbUserStorage
from faaskeeper_aws.storage.s3 import S3UserStorage

#: The user storages, each of which also creates the root node (``ensure_root``).
AwsUserStorage = S3UserStorage | DynamoDbUserStorage | HybridUserStorage


def user_storage(settings: AwsSettings) -> AwsUserStorage:
    """The user storage of ``settings``'s deployment."""
    if settings.user_storage is StorageType.PERSISTENT:
        return S3UserStorage(settings)
    if settings.user_storage is StorageType.HYBRID:
        return HybridUserStorage(settings)
    return DynamoDbUserStorage(settings)
