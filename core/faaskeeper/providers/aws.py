"""The upstream client's ``AWSClient``: the operations an AWS deployment offers a client
directly, for code that drives a session by hand (the upstream client's threads did).

Reads go to user storage (S3 or DynamoDB), a session is registered and requests are sent
through the writer queue (SQS), watches are stored in system storage (DynamoDB), all through
the AWS provider plugin (see :class:`faaskeeper.providers.provider.DeploymentClient`). Replies
and notifications reach the session's channel (the ``source_addr`` given to
``register_session``) as this project's client channel messages; a listener there must answer
the service's pings, as the upstream's did (:mod:`faaskeeper.queue` has one).
:class:`faaskeeper.client.FaaSKeeperClient` does all of this itself.
"""

from __future__ import annotations

from faaskeeper.api.provider import Deployment
from faaskeeper.config import CloudProvider, Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.providers.provider import DeploymentClient

#: Whether reads are timed into :class:`~faaskeeper.stats.StorageStatistics` (the reads follow
#: :data:`faaskeeper.providers.serialization.BENCHMARKING`).
BENCHMARKING = True


class AWSClient(DeploymentClient):
    """The client-side operations of the AWS deployment ``cfg`` names."""

    def __init__(self, cfg: Config, *, deployment: Deployment | None = None) -> None:
        if cfg.cloud_provider != CloudProvider.AWS:
            raise ConfigurationException(f'AWSClient needs an AWS config, got "cloud-provider": "{cfg.cloud_provider}"')
        super().__init__(cfg, deployment=deployment)
