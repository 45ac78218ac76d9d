"""A GCP deployment's parts as a client (or a Cloud Function) uses them."""

from __future__ import annotations

from faaskeeper.api.channel import ChannelListener, ChannelSender
from faaskeeper.api.provider import Deployment
from faaskeeper.channels.tcp import TcpListener
from faaskeeper.config import ClientChannel as ChannelType
from faaskeeper.config import Config
from faaskeeper_gcp.channel import GcpClientChannel
from faaskeeper_gcp.firestore import FirestoreSystemStorage, FirestoreUserStorage
from faaskeeper_gcp.firestore_base import Documents
from faaskeeper_gcp.pubsub import PubSubQueue, Topics
from faaskeeper_gcp.pubsub_listener import PubSubListener
from faaskeeper_gcp.sequencer import DistributorQueue
from faaskeeper_gcp.settings import GcpSettings


class GcpDeployment(Deployment):
    def __init__(self, config: Config, settings: GcpSettings) -> None:
        super().__init__(config)
        self.settings = settings
        self.documents = Documents(settings)
        self.topics = Topics(settings)
        self._system = FirestoreSystemStorage(settings, self.documents)
        self._user = FirestoreUserStorage(settings, self.documents)
        self._writer_queue = PubSubQueue(settings, self.topics)
        self._distributor_queue = DistributorQueue(self.documents, self.topics, settings.names.topic("distributor"))
        self._channel = GcpClientChannel(settings, self.topics)

    @property
    def system_storage(self) -> FirestoreSystemStorage:
        return self._system

    @property
    def user_storage(self) -> FirestoreUserStorage:
        return self._user

    @property
    def writer_queue(self) -> PubSubQueue:
        return self._writer_queue

    @property
    def distributor_queue(self) -> DistributorQueue:
        return self._distributor_queue

    @property
    def channel(self) -> ChannelSender:
        return self._channel

    def diagnose_stalled_write(self) -> str | None:
        """On the emulators, writes are pushed to the function host at ``functions-endpoint``: if
        nothing listens there, no writer took the request."""
        endpoint = self.settings.functions_endpoint
        if endpoint is None:
            return None
        from faaskeeper_gcp.function_host import endpoint_in_use  # only after a timeout

        if endpoint_in_use(endpoint):
            return None  # a host serves the functions; the answer is late, not lost
        return (
            f"no writer took the request: nothing serves {endpoint}, where Pub/Sub pushes this deployment's "
            "writes; the functions run only while 'python -m faaskeeper_gcp.function_host CONFIG' runs "
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
        self._channel.close()
        self.settings.close()
