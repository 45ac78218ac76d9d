"""An AWS deployment's parts as a client (or a Lambda function) uses them."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.channel import ChannelListener
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


class AwsDeployment(Deployment[DynamoDbSystemStorage, UserStorage, SqsQueue, SqsQueue]):
    def __init__(self, config: Config, settings: AwsSettings) -> None:
        self.settings = settings
        names = settings.names
        super().__init__(
            config,
            system_storage=DynamoDbSystemStorage(settings),
            user_storage=user_storage(settings),
            writer_queue=SqsQueue(settings, names.writer_queue, names.writer_dead_letters),
            distributor_queue=SqsQueue(settings, names.distributor_queue, names.distributor_dead_letters),
            channel=AwsClientChannel(settings),
        )

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
        self.channel.close()
