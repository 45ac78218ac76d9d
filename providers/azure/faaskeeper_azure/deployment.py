"""An Azure deployment's parts as a client (or a function) uses them: Cosmos DB system storage,
Blob Storage or Cosmos DB user storage, the Storage Queues of the writer and the distributor (the
distributor's as the core's log sequencer rung by doorbells) and the client channel over TCP."""

from __future__ import annotations

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment
from faaskeeper.channels.tcp import TcpChannel, TcpListener
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.protocol.sequencer import SequencedLog, SequencedQueue
from faaskeeper_azure.queues import Doorbells, Payloads, StorageQueues, WriterQueue, payload_container
from faaskeeper_azure.settings import AzureSettings
from faaskeeper_azure.storage import BlobUserStorage, CosmosSystemStorage, CosmosUserStorage, user_storage


def storage_queues(settings: AzureSettings) -> StorageQueues:
    if settings.storage_connection_string is None:
        raise ConfigurationException(
            "Config key 'azure.storage-connection-string' is required (or set AZURE_STORAGE_CONNECTION_STRING); "
            "against the emulators, python -m faaskeeper_azure.emulator.servers prints it"
        )
    return StorageQueues(settings.storage_connection_string, credential=settings.storage_credential())


def payloads(settings: AzureSettings) -> Payloads:
    container = payload_container(settings.names.prefix)
    return Payloads(settings.blob_service().get_container_client(container))


class AzureDeployment(
    Deployment[CosmosSystemStorage, BlobUserStorage | CosmosUserStorage, WriterQueue, SequencedQueue]
):
    def __init__(self, config: Config, settings: AzureSettings) -> None:
        self.settings = settings
        self.queues = storage_queues(settings)
        names = settings.names
        system = CosmosSystemStorage(settings)
        self.doorbells = Doorbells(self.queues, names.queue("distributor"))
        super().__init__(
            config,
            system_storage=system,
            user_storage=user_storage(settings, config.user_storage),
            writer_queue=WriterQueue(self.queues, names.queue("writer"), payloads(settings)),
            distributor_queue=SequencedQueue(SequencedLog(system), self.doorbells.ring),
            channel=TcpChannel(),
        )

    @property
    def functions_endpoint(self) -> str | None:
        """Where the emulators' function host serves the HTTP functions (``azure.functions-endpoint``)."""
        endpoint = self.config.provider_section.get("functions-endpoint")
        return endpoint if isinstance(endpoint, str) and endpoint else None

    def diagnose_stalled_write(self) -> str | None:
        """Requests waiting in the writer queue that no function takes: on the emulators, the
        function host is not running."""
        from faaskeeper_azure.deploy.status import queue_depth  # only after a timeout

        name = self.writer_queue.name
        waiting = queue_depth(self.queues, name)
        if not waiting:
            return None  # the request was taken; the answer is late, not lost
        where = "" if self.functions_endpoint is None else " on the emulators"
        return (
            f"no writer took the request: {waiting} messages wait in the Storage Queue {name}; the functions run"
            f"{where} only while 'python -m faaskeeper_azure.emulator CONFIG' runs (CONFIG: this deployment's "
            "client config): start it"
        )

    def listener(self, port: int = -1) -> ChannelListener:
        host = self.config.provider_section.get("client-host")
        if isinstance(host, str) and host:
            # Reachable from Azure Functions: listen everywhere, advertise the configured address.
            return TcpListener("0.0.0.0", port, advertise=host)
        return TcpListener("127.0.0.1", port)

    def close(self) -> None:
        self.channel.close()
        self.queues.close()
        self.settings.close()
