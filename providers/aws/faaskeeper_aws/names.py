"""Names of a deployment's AWS resources, and the environment its Lambda functions read.

Every module of the provider (runtime, deploy, tests) derives names from here, so a deployment
named ``dev`` is ``faaskeeper-dev-*`` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from faaskeeper.protocol import environment

#: Environment variables the CloudFormation template sets on every function.
ENV_DEPLOYMENT = "FK_DEPLOYMENT_NAME"
ENV_CONFIG = environment.ENV_CONFIG  # the client config as JSON, which the functions read


@dataclass(frozen=True)
class ResourceNames:
    deployment: str

    @property
    def prefix(self) -> str:
        return f"faaskeeper-{self.deployment}"

    @property
    def stack(self) -> str:
        return self.prefix

    # DynamoDB tables
    @property
    def nodes_table(self) -> str:
        """System storage: one item per node (key ``path``)."""
        return f"{self.prefix}-nodes"

    @property
    def sessions_table(self) -> str:
        """Sessions (key ``session_id``)."""
        return f"{self.prefix}-sessions"

    @property
    def watches_table(self) -> str:
        """Watches (key ``path``, sort key ``watch``: ``kind#session``)."""
        return f"{self.prefix}-watches"

    @property
    def data_table(self) -> str:
        """User storage when ``user-storage`` is ``key-value`` (key ``path``)."""
        return f"{self.prefix}-data"

    # S3
    def data_bucket(self, configured: str | None = None) -> str:
        """User storage when ``user-storage`` is ``persistent``; also holds oversize queue payloads."""
        return configured or f"{self.prefix}-data"

    @property
    def code_bucket(self) -> str:
        """The functions' deployment package."""
        return f"{self.prefix}-code"

    # SQS FIFO queues
    @property
    def writer_queue(self) -> str:
        return f"{self.prefix}-writer.fifo"

    @property
    def distributor_queue(self) -> str:
        return f"{self.prefix}-distributor.fifo"

    @property
    def writer_dead_letters(self) -> str:
        return f"{self.prefix}-writer-dlq.fifo"

    @property
    def distributor_dead_letters(self) -> str:
        return f"{self.prefix}-distributor-dlq.fifo"

    def client_queue(self, session_id: str) -> str:
        """A session's own reply queue when ``client-channel`` is ``sqs``."""
        return f"{self.prefix}-client-{session_id}.fifo"

    # Lambda
    def function(self, role: str) -> str:
        """``role`` is one of writer, distributor, heartbeat, watch."""
        return f"{self.prefix}-{role}"

    @property
    def heartbeat_rule(self) -> str:
        return f"{self.prefix}-heartbeat"
