"""A GCP deployment's parts as a client (or a Cloud Function) uses them."""

from __future__ import annotations

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment
from faaskeeper.channels.tcp import TcpListener
from faaskeeper.config import ClientChannel as ChannelType
from faaskeeper.config import Config
from faaskeeper.protocol.sequencer import SequencedLog, SequencedQueue
from faaskeeper_gcp.channel import GcpClientChannel
from faaskeeper_gcp.channel.listener import PubSubListener
from faaskeeper_gcp.queues import Doorbells, PubSubQueue, Topics
from faaskeeper_gcp.settings import GcpSettings
from faaskeeper_gcp.storage import FirestoreSystemStorage, FirestoreUserStorage
from faaskeeper_gcp.storage.firestore import Documents


class GcpDeployment(Deployment[FirestoreSystemStorage, FirestoreUserStorage, PubSubQueue, SequencedQueue]):
    def __init__(self, config: Config, settings: GcpSettings) -> None:
        self.settings = settings
        self.documents = Documents(settings)
        self.topics = Topics(settings)
        system = FirestoreSystemStorage(settings, self.documents)
        doorbells = Doorbells(self.topics, settings.names.topic("distributor"))
        super().__init__(
            config,
            system_storage=system,
            user_storage=FirestoreUserStorage(settings, self.documents),
            writer_queue=PubSubQueue(settings, self.topics),
            distributor_queue=SequencedQueue(SequencedLog(system, fewer_reads=True), doorbells.ring),
            channel=GcpClientChannel(settings, self.topics),
        )

    def diagnose_stalled_write(self) -> str | None:
        """On the emulators, writes are pushed to the function host at ``functions-endpoint``: if
        nothing listens there, no writer took the request."""
        endpoint = self.settings.functions_endpoint
        if endpoint is None:
            return None
        from faaskeeper_gcp.functions.host import endpoint_in_use  # only after a timeout

        if endpoint_in_use(endpoint):
            return None  # a host serves the functions; the answer is late, not lost
        return (
            f"no writer took the request: nothing serves {endpoint}, where Pub/Sub pushes this deployment's "
            "writes; the functions run only while 'python -m faaskeeper_gcp.emulator CONFIG' runs "
            "(CONFIG: this deployment's client config): start it"
        )

    def listener(self, port: int = -1) -> ChannelListener:
        if self.config.client_channel is ChannelType.PUBSUB:
            return PubSubListener(self.settings, self.topics)
        host = self.config.provider_section.get("client-host")
        if isinstance(host, str) and host:
            # Reachable from Cloud Functions: listen everywhere, advertise the configured address.
            return TcpListener("0.0.0.0", port, advertise=host)
        return TcpListener("127.0.0.1", port)

    def close(self) -> None:
        self.channel.close()
        self.settings.close()
