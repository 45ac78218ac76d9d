"""Reading nodes from a deployment's user storage, as the upstream client's readers did.

* :class:`DataReader`: the interface, ``get_data(path, include_data, include_children)``.
* :class:`UserStorageReader`: reads any deployment's user storage through its provider plugin.
* :class:`S3Reader`: an AWS deployment whose ``user-storage`` is ``persistent``: the S3 data
  bucket; its ``serialize``/``deserialize`` are the format of the bucket's objects.
* :class:`DynamoReader`: an AWS deployment whose ``user-storage`` is ``key-value``: the
  ``faaskeeper-<name>-data`` DynamoDB table, read with the boto3 client it is given.

The object and item formats are this project's (a JSON header with the stat, children and
epoch, then the data), not the upstream's binary header: the readers read what the AWS
provider writes. With :data:`BENCHMARKING` each read adds its time (microseconds) to
:class:`faaskeeper.stats.StorageStatistics`, and a DynamoDB read its consumed capacity units.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from typing import Any

from faaskeeper.api.provider import Deployment
from faaskeeper.config import CloudProvider, Config, StorageType
from faaskeeper.exceptions import AWSException, ConfigurationException, ProviderException
from faaskeeper.node import Node, decode_metadata, encode_metadata
from faaskeeper.plugins.manager import get_provider
from faaskeeper.stats import StorageStatistics

#: Whether reads are timed into :class:`~faaskeeper.stats.StorageStatistics`.
BENCHMARKING = True

#: The header of an S3 object: this magic, the length of the metadata JSON (4 bytes, big-endian),
#: the JSON, then the node's data.
OBJECT_MAGIC = b"FKN1"
_PREFIX = len(OBJECT_MAGIC) + 4


class DataReader(ABC):
    """Reads nodes from the user storage of the deployment ``deployment_name``."""

    def __init__(self, deployment_name: str) -> None:
        self._deployment_name = deployment_name

    @abstractmethod
    def get_data(self, path: str, include_data: bool = True, include_children: bool = True) -> Node | None:
        """The node (without data or children if not asked for), or None if it does not exist."""


def _record(began: float) -> None:
    if BENCHMARKING:
        StorageStatistics.instance().add_read_time(int((time.perf_counter() - began) * 1_000_000))


def open_deployment(cfg: Config) -> Deployment:
    """The deployment ``cfg`` names, opened through its provider plugin."""
    provider = get_provider(cfg.cloud_provider)
    provider.validate_config(cfg)
    return provider.open(cfg)


class UserStorageReader(DataReader):
    """Reads the user storage of ``cfg``'s deployment, on any provider. ``deployment``: one
    already open (it stays open); otherwise the reader opens one, and ``close()`` releases it."""

    def __init__(self, cfg: Config, *, deployment: Deployment | None = None) -> None:
        super().__init__(cfg.deployment_name)
        self._config = cfg
        self._owned = deployment is None
        self._deployment = deployment if deployment is not None else open_deployment(cfg)

    def get_data(self, path: str, include_data: bool = True, include_children: bool = True) -> Node | None:
        began = time.perf_counter()
        node = self._deployment.user_storage.read(path, with_data=include_data)
        _record(began)
        if node is not None and not include_children:
            node.children = None
        return node

    def close(self) -> None:
        if self._owned:
            self._deployment.close()


def _require_aws(cfg: Config, storage: StorageType, reader: str) -> None:
    if cfg.cloud_provider != CloudProvider.AWS or cfg.user_storage is not storage:
        raise ConfigurationException(
            f'{reader} reads an AWS deployment with "user-storage": "{storage.value}"; the config names '
            f'"{cfg.cloud_provider}" with "{cfg.user_storage.value}" (UserStorageReader reads any deployment)'
        )


class S3Reader(UserStorageReader):
    """Reads nodes from the S3 data bucket (``cfg.provider_config.data_bucket``) of an AWS
    deployment with ``persistent`` user storage."""

    def __init__(self, cfg: Config, *, deployment: Deployment | None = None) -> None:
        _require_aws(cfg, StorageType.PERSISTENT, "S3Reader")
        super().__init__(cfg, deployment=deployment)

    @staticmethod
    def serialize(node: Node) -> bytes:
        """The body of the S3 object that holds ``node``: the metadata header, then the data."""
        meta = encode_metadata(node.stat, node.children or (), node.epoch, node.footprint).encode()
        return OBJECT_MAGIC + len(meta).to_bytes(4, "big") + meta + (node.data or b"")

    @staticmethod
    def deserialize(path: str, data: bytes, include_data: bool = True, include_children: bool = True) -> Node:
        """The node an S3 object's body holds."""
        if len(data) < _PREFIX or not data.startswith(OBJECT_MAGIC):
            raise ProviderException(f"the object of {path} is not a FaaSKeeper node")
        end = _PREFIX + int.from_bytes(data[len(OBJECT_MAGIC) : _PREFIX], "big")
        if len(data) < end:
            raise ProviderException(f"the object of {path} is truncated")
        node = decode_metadata(path, data[end:] if include_data else None, data[_PREFIX:end].decode())
        if not include_children:
            node.children = None
        return node


class DynamoReader(DataReader):
    """Reads nodes from the ``faaskeeper-<name>-data`` table of an AWS deployment with
    ``key-value`` user storage, with ``client``, a boto3 DynamoDB client."""

    def __init__(self, client: Any, cfg: Config) -> None:
        _require_aws(cfg, StorageType.KEY_VALUE, "DynamoReader")
        super().__init__(cfg.deployment_name)
        self._config = cfg
        self._dynamodb = client

    @staticmethod
    def _dynamodb_type(val: object) -> str | None:
        if isinstance(val, str):
            return "S"
        if isinstance(val, bool):
            return "BOOL"
        if isinstance(val, int):
            return "N"
        if isinstance(val, bytes):
            return "B"
        if isinstance(val, list | tuple):
            return "L"
        return None

    @staticmethod
    def _dynamodb_val(val: object) -> Any:
        if isinstance(val, bytes | list | bool):
            return val
        return str(val)

    @staticmethod
    def _convert_items(items: dict[str, Any]) -> dict[str, Any]:
        """``{"path": "/a"}`` as DynamoDB attribute values: ``{"path": {"S": "/a"}}``."""
        return {
            key: {DynamoReader._dynamodb_type(value): DynamoReader._dynamodb_val(value)} for key, value in items.items()
        }

    def get_data(self, path: str, include_data: bool = True, include_children: bool = True) -> Node | None:
        table = f"faaskeeper-{self._deployment_name}-data"
        projection = "#path, #meta, #data" if include_data else "#path, #meta"
        names = {"#path": "path", "#meta": "meta"} | ({"#data": "data"} if include_data else {})
        began = time.perf_counter()
        try:
            ret = self._dynamodb.get_item(
                TableName=table,
                Key=DynamoReader._convert_items({"path": path}),
                ConsistentRead=True,
                ReturnConsumedCapacity="TOTAL",
                ProjectionExpression=projection,
                ExpressionAttributeNames=names,
            )
        except Exception as err:
            raise AWSException(f"Failure on AWS client on DynamoDB table {table}: {err}") from err
        _record(began)
        if BENCHMARKING:
            units = ret.get("ConsumedCapacity", {}).get("CapacityUnits", 0)
            StorageStatistics.instance().add_read_units(math.ceil(units))
        item = ret.get("Item")
        if not item:
            return None
        data = bytes(item["data"]["B"]) if include_data else None
        node = decode_metadata(path, data, item["meta"]["S"])
        if not include_children:
            node.children = None
        return node
