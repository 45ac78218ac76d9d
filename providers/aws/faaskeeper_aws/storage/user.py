"""User storage: the backend the config's ``user-storage`` chooses.

* ``persistent``: one S3 object per node (:mod:`faaskeeper_aws.storage.s3`);
* ``key-value``: one DynamoDB item per node (:mod:`faaskeeper_aws.storage.key_value`).
"""

from __future__ import annotations

from faaskeeper.api.storage import UserStorage
from faaskeeper.config import StorageType
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.key_value import DynamoDbUserStorage
from faaskeeper_aws.storage.s3 import S3UserStorage


def user_storage(settings: AwsSettings) -> UserStorage:
    """The user storage of ``settings``'s deployment."""
    if settings.user_storage is StorageType.PERSISTENT:
        return S3UserStorage(settings)
    return DynamoDbUserStorage(settings)
