"""FaaSKeeper's DynamoDB storages: system storage (nodes, sessions, watches) and key-value user
storage. The implementations live in :mod:`faaskeeper_aws.dynamodb_system`,
:mod:`faaskeeper_aws.dynamodb_sessions` and :mod:`faaskeeper_aws.dynamodb_user`."""

from faaskeeper_aws.dynamodb_system import DynamoDbSystemStorage
from faaskeeper_aws.dynamodb_user import DynamoDbUserStorage

__all__ = ["DynamoDbSystemStorage", "DynamoDbUserStorage"]
