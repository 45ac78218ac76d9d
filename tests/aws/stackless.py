"""A deployment without a stack: its tables, bucket and queues made with boto3, the root node
written, and the functions run by the Lambda emulator from the package's own handlers.

For the queue, channel, handler and end-to-end tests, which test the runtime, not the deploy code.
"""

from __future__ import annotations

import uuid
from typing import Any

from faaskeeper.config import Config
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.system import DynamoDbSystemStorage
from faaskeeper_aws.storage.user import user_storage

from .resources import create_buckets, create_queues, create_tables

#: Short timeouts so that redeliveries and expiries happen within a test.
VISIBILITY_TIMEOUT = 1
MAX_RECEIVES = 3


def config(
    *,
    storage: str = "persistent",
    channel: str = "tcp",
    heartbeat: float = 0.5,
    session_timeout: float = 1.5,
    name: str | None = None,
    watch_fanout: int | None = None,
    **aws: Any,
) -> Config:
    fanout = {} if watch_fanout is None else {"watch-fanout": watch_fanout}
    return Config.deserialize(
        {
            **fanout,
            "cloud-provider": "aws",
            "deployment-name": name or f"q{uuid.uuid4().hex[:10]}",
            "deployment-region": "us-east-1",
            "user-storage": storage,
            "client-channel": channel,
            "worker-queue": "sqs",
            "distributor-queue": "sqs",
            "heartbeat-frequency": heartbeat,
            "session-timeout": session_timeout,
            "aws": aws,
        }
    )


def create(
    cfg: Config, *, visibility_timeout: int = VISIBILITY_TIMEOUT, max_receives: int = MAX_RECEIVES
) -> AwsSettings:
    """Create ``cfg``'s resources and root node; its settings."""
    settings = AwsSettings.from_config(cfg)
    create_tables(settings)
    create_buckets(settings)
    create_queues(settings, visibility_timeout=visibility_timeout, max_receives=max_receives)
    DynamoDbSystemStorage(settings).ensure_root()
    user_storage(settings).ensure_root()
    return settings
