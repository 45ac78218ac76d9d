"""An AWS deployment's parts as a client (or a Lambda function) uses them."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.channel import ChannelListener, ChannelSender
from faaskeeper.api.provider import Deployment
from faaskeeper.api.storage import UserStorage
from faaskeeper.channels.tcp import TcpListener
from faaskeeper.config import ClientChannel as ChannelType
from faaskeeper.config import Config
from faaskeeper_aws.channel.listener import SqsListener
from faaskeeper_aws.channel.server import AwsClientChannel
from faaskeeper_aws.queues import SqsQueue
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.system import DynamoDbSystemStorage
from faaskeeper_aws.storage.user import user_storage


class AwsDeployment(Deployment):
    def __init__(self, config: Config, settings: AwsSettings) -> None:
        super().__init__(config)
        self.settings = settings
        names = settings.names
        self._system = DynamoDbSystemStorage(settings)
        self._user = user_storage(settings)
        self._writer_queue = SqsQueue(settings, names.writer_queue, names.writer_dead_letters)
        self._distributor_queue = SqsQueue(settings, names.distributor_queue, names.distributor_dead_letters)
        self._channel = AwsClientChannel(settings)

    @property
    def system_storage(self) -> DynamoDbSystemStorage:
        return self._system

    @property
    def user_storage(self) -> UserStorage:
        return self._user

    @property
    def writer_queue(self) -> SqsQueue:
        return self._writer_queue

    @property
    def distributor_queue(self) -> SqsQueue:
        return self._distributor_queue

    @property
    def channel(self) -> ChannelSender:
        return self._channel

    def listener(self, port: int = -1) -> ChannelListener:
        if self.settings.client_channel is ChannelType.SQS:
            return SqsListener(self.settings)
        host = self.config.provider_section.get("client-host")
        if isinstance(host, str) and host:
            # Reachable from Lambda: listen everywhere, advertise the configured address.
            return TcpListener("0.0.0.0", port, advertise=host)
        return TcpListener("127.0.0.1", port)

    def txn_formatter(self) -> Callable[[int], str]:
        from faaskeeper_aws.deploy.txn_origin import read_origin, txn_formatter

        return txn_formatter(read_origin(self.settings))

    def diagnose_stalled_write(self) -> str | None:
        from faaskeeper_aws.functions.stall import diagnose_stalled_write  # only after a timeout

        return diagnose_stalled_write(self.settings)

    def close(self) -> None:
        self._channel.close()
