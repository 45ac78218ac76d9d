"""The AWS provider's reading of a client config (the upstream keys plus the ``"aws"`` section)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from faaskeeper.config import DEFAULT_MAX_DATA_SIZE, ClientChannel, Config, QueueType, StorageType
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_aws.names import ResourceNames

_boto_session: boto3.session.Session | None = None
_boto_guard = threading.Lock()


#: What an emulator (moto) is given when no credentials are configured: it accepts any.
EMULATOR_CREDENTIALS = {"aws_access_key_id": "faaskeeper-emulated", "aws_secret_access_key": "faaskeeper-emulated"}


_has_credentials: bool | None = None


def _session() -> boto3.session.Session:
    global _boto_session
    if _boto_session is None:
        _boto_session = boto3.session.Session()
    return _boto_session


def _credentials_configured(session: boto3.session.Session) -> bool:
    """Whether boto3 finds credentials (looked up once: without any, each look-up asks the
    instance metadata service and waits for its timeout)."""
    global _has_credentials
    if _has_credentials is None:
        _has_credentials = session.get_credentials() is not None
    return _has_credentials


def _new_client(service: str, *, emulated: bool = False, **options: Any) -> Any:
    """A client from the process's one boto3 session, which reuses the service models already
    loaded (a client in about 5 ms instead of 100 ms). Sessions are not thread-safe: a lock.
    ``emulated``: the endpoint is an emulator named in the config, which takes any credentials, so
    a terminal without AWS credentials works with it."""
    with _boto_guard:
        session = _session()
        if emulated and not _credentials_configured(session):
            options = {**EMULATOR_CREDENTIALS, **options}
        return session.client(service, **options)


#: Node data a DynamoDB item holds beside the node's metadata (items are limited to 400 KB).
KEY_VALUE_MAX_DATA_SIZE = 380_000
#: What one commit may write: DynamoDB's TransactWriteItems takes at most 100 items, one per node
#: and one per ephemeral-node owner's index item the commit updates.
MAX_COMMIT_WRITES = 100
#: The keys of the ``"aws"`` config section: the storage and endpoint, the client's reachable
#: host (TCP channel), and the deploy options (:class:`faaskeeper_aws.deploy.tunables.DeployOptions`).
SECTION_KEYS = frozenset(
    {
        "data-bucket",
        "endpoint-url",
        "client-host",
        "function-timeout",
        "function-memory",
        "heartbeat-timeout",
        "visibility-timeout",
        "max-receive-count",
    }
)


@dataclass(frozen=True)
class AwsSettings:
    region: str
    names: ResourceNames
    user_storage: StorageType
    client_channel: ClientChannel
    data_bucket: str
    #: Explicit endpoint (``"aws": {"endpoint-url": ...}``); otherwise boto3 honours AWS_ENDPOINT_URL.
    endpoint_url: str | None = None
    #: The config's ``max-data-size``, capped for key-value user storage.
    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    lock_max_hold: float = 5.0
    clock_drift: float = 1.0
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @staticmethod
    def from_config(config: Config) -> AwsSettings:
        section = config.provider_section
        region = config.deployment_region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")
        if not region:
            raise ConfigurationException(
                "Config key 'deployment-region' is required for AWS (or set AWS_DEFAULT_REGION), e.g. \"us-east-1\""
            )
        if config.writer_queue is QueueType.DYNAMODB:
            raise ConfigurationException(
                "Config key 'worker-queue': \"dynamodb\" is not supported: a DynamoDB stream gives no total "
                'order across sessions and no per-request sequence number; use "sqs"'
            )
        for key, queue in (("worker-queue", config.writer_queue), ("distributor-queue", config.distributor_queue)):
            if queue is not None and queue is not QueueType.SQS:
                raise ConfigurationException(f'Config key {key!r} must be "sqs" for AWS, got {queue.value!r}')
        if config.client_channel not in (ClientChannel.TCP, ClientChannel.SQS):
            raise ConfigurationException(
                f'Config key \'client-channel\' must be "tcp" or "sqs" for AWS, got {config.client_channel.value!r}'
            )
        names = ResourceNames(config.deployment_name)
        bucket = section.get("data-bucket")
        if bucket is not None and (not isinstance(bucket, str) or not bucket):
            raise ConfigurationException(f"Config key 'aws.data-bucket' must be a bucket name, got {bucket!r}")
        endpoint = section.get("endpoint-url")
        if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith("http")):
            raise ConfigurationException(f"Config key 'aws.endpoint-url' must be an http(s) URL, got {endpoint!r}")
        max_data_size = config.max_data_size
        if config.user_storage is StorageType.KEY_VALUE:
            if "max-data-size" in config.raw and max_data_size > KEY_VALUE_MAX_DATA_SIZE:
                raise ConfigurationException(
                    f"Config key 'max-data-size' must be at most {KEY_VALUE_MAX_DATA_SIZE} with "
                    f'"user-storage": "key-value" (a DynamoDB item holds 400 KB), got {max_data_size}'
                )
            max_data_size = min(max_data_size, KEY_VALUE_MAX_DATA_SIZE)
        return AwsSettings(
            max_data_size=max_data_size,
            region=region,
            names=names,
            user_storage=config.user_storage,
            client_channel=config.client_channel,
            data_bucket=names.data_bucket(bucket),
            endpoint_url=endpoint,
        )

    @property
    def emulated(self) -> bool:
        """Whether an endpoint override (the config's or boto3's variables) points away from AWS
        itself, to an emulator such as moto."""
        return bool(self.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL_SQS"))

    def client(self, service: str, **config: Any) -> Any:
        """A shared, thread-safe boto3 client for ``service`` in this deployment's region; ``config``
        overrides botocore's settings for it (e.g. ``read_timeout=60``)."""
        key = f"{service} {sorted(config.items())!r}" if config else service
        with self._guard:
            client = self._clients.get(key)
            if client is None:
                options: dict[str, Any] = {
                    "retries": {"max_attempts": 5, "mode": "standard"},
                    "max_pool_connections": 32,
                    **config,
                }
                client = _new_client(
                    service,
                    emulated=self.endpoint_url is not None,
                    region_name=self.region,
                    endpoint_url=self.endpoint_url,
                    config=BotoConfig(**options),
                )
                self._clients[key] = client
            return client
