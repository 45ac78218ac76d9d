"""The GCP provider's reading of a client config (the upstream keys plus the ``"gcp"`` section).

.. code-block:: json

    "gcp": {"project": "my-project", "functions-endpoint": "http://127.0.0.1:8080", "lock-max-hold": 5}

``project`` (or ``GOOGLE_CLOUD_PROJECT``) names the Google Cloud project. ``lock-max-hold`` is the
seconds a writer may hold a node lock before another may take it over (default 5). ``functions-endpoint``
is where Pub/Sub pushes to the functions when they are served by functions-framework (locally,
against the emulators: ``<endpoint>/writer``, ``/distributor``, ``/heartbeat``). The clients
follow ``FIRESTORE_EMULATOR_HOST`` and ``PUBSUB_EMULATOR_HOST`` as Google's own libraries do.
``client-channel`` is ``"tcp"`` (the functions connect to a port the client listens on) or
``"pubsub"`` (each client pulls its own inbox, :mod:`faaskeeper_gcp.channel.inboxes`).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faaskeeper.config import DEFAULT_MAX_DATA_SIZE, ClientChannel, Config, QueueType, StorageType, checked_number
from faaskeeper.exceptions import ConfigurationException, ProviderException
from faaskeeper_gcp.names import FIRESTORE_EMULATOR, PUBSUB_EMULATOR, ResourceNames

if TYPE_CHECKING:
    # The SDKs are imported when a client is first made: the plugin is loaded by every
    # FaaSKeeper process, most of which never talk to Google Cloud.
    from google.cloud import firestore
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

#: Node data a Firestore document holds beside its metadata (documents are limited to 1 MiB, and a
#: distributor record carries the data with the write's header).
FIRESTORE_MAX_DATA_SIZE = 900_000
#: What one commit may write: a Firestore batch holds at most 500 writes, one per node.
MAX_COMMIT_WRITES = 500
#: The keys of the ``"gcp"`` config section: the project, where the functions are served, the
#: lock hold, the client's reachable host (TCP channel), and the deploy options
#: (:class:`faaskeeper_gcp.deploy.cloud_options.DeployOptions`).
SECTION_KEYS = frozenset(
    {
        "project",
        "functions-endpoint",
        "lock-max-hold",
        "client-host",
        "region",
        "service-account",
        "runtime",
        "function-memory",
        "function-timeout",
    }
)


#: Seconds to wait for an emulator to accept a connection.
EMULATOR_PROBE_TIMEOUT = 5.0


def check_emulator(service: str) -> None:
    """ProviderException at once, rather than after the clients' minutes of retries, if the
    emulator variable of ``service`` ("Firestore", "Pub/Sub") names an address nothing answers at."""
    variable = FIRESTORE_EMULATOR if service == "Firestore" else PUBSUB_EMULATOR
    address = os.environ.get(variable)
    if not address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=EMULATOR_PROBE_TIMEOUT):
            pass
    except (OSError, ValueError) as err:
        raise ProviderException(
            f"GCP connect to {service} failed: nothing answers at {variable}={address} ({err}); start the "
            f"emulators (python -m faaskeeper_gcp.emulator.servers) and export the addresses it prints, or unset "
            f"{variable} to use Google Cloud"
        ) from err


def _project(config: Config) -> str:
    project = config.provider_section.get("project") or os.environ.get("GOOGLE_CLOUD_PROJECT")
    if not project:
        raise ConfigurationException(
            "Config key 'gcp.project' is required for GCP (or set GOOGLE_CLOUD_PROJECT), e.g. \"my-project\""
        )
    if not isinstance(project, str):
        raise ConfigurationException(f"Config key 'gcp.project' must be a project id, got {project!r}")
    return project


def _check_kinds(config: Config) -> None:
    if config.user_storage is not StorageType.KEY_VALUE and "user-storage" in config.raw:
        raise ConfigurationException(
            'Config key \'user-storage\' must be "key-value" (Firestore) for GCP: Cloud Storage ("persistent") '
            "is not supported, as no Cloud Storage emulator is available to test it"
        )
    for key, queue in (("worker-queue", config.writer_queue), ("distributor-queue", config.distributor_queue)):
        if queue is not None and queue is not QueueType.PUBSUB:
            raise ConfigurationException(f'Config key {key!r} must be "pubsub" for GCP, got {queue.value!r}')
    if config.client_channel not in (ClientChannel.TCP, ClientChannel.PUBSUB):
        raise ConfigurationException(
            f'Config key \'client-channel\' must be "tcp" or "pubsub" for GCP, got {config.client_channel.value!r}'
        )


@dataclass(frozen=True)
class GcpSettings:
    project: str
    names: ResourceNames
    #: Where push subscriptions deliver to functions-framework; None on Cloud Functions.
    functions_endpoint: str | None = None
    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    lock_max_hold: float = 5.0
    clock_drift: float = 1.0
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @staticmethod
    def from_config(config: Config) -> GcpSettings:
        section = config.provider_section
        _check_kinds(config)
        project = _project(config)
        endpoint = section.get("functions-endpoint")
        if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith("http")):
            raise ConfigurationException(
                f"Config key 'gcp.functions-endpoint' must be an http(s) URL, got {endpoint!r}"
            )
        hold = checked_number("gcp.lock-max-hold", section.get("lock-max-hold", 5.0), 0.01, 3600.0, unit="seconds")
        max_data_size = config.max_data_size
        if "max-data-size" in config.raw and max_data_size > FIRESTORE_MAX_DATA_SIZE:
            raise ConfigurationException(
                f"Config key 'max-data-size' must be at most {FIRESTORE_MAX_DATA_SIZE} on GCP "
                f"(a Firestore document holds 1 MiB), got {max_data_size}"
            )
        return GcpSettings(
            project=project,
            names=ResourceNames(config.deployment_name),
            functions_endpoint=endpoint.rstrip("/") if endpoint else None,
            max_data_size=min(max_data_size, FIRESTORE_MAX_DATA_SIZE),
            lock_max_hold=float(hold),
        )

    def _shared(self, name: str, service: str, make: Any) -> Any:
        """The client ``name``, made on first use; ProviderException with a hint if it cannot be
        (no credentials, or an emulator variable naming an address where nothing answers)."""
        from faaskeeper_gcp.errors import gcp_errors

        with self._guard:
            client = self._clients.get(name)
            if client is None:
                check_emulator(service)
                with gcp_errors(f"connect to {service}"):  # the credentials are looked up here
                    client = make()
                self._clients[name] = client
            return client

    def firestore(self) -> firestore.Client:
        """A shared, thread-safe Firestore client for this deployment's project."""
        from google.cloud import firestore

        client: firestore.Client = self._shared(
            "firestore", "Firestore", lambda: firestore.Client(project=self.project)
        )
        return client

    def publisher(self) -> PublisherClient:
        """A publisher that keeps ordering keys' order and sends each message at once (no 10 ms batching)."""
        from google.cloud.pubsub_v1 import PublisherClient, types

        return self._shared(
            "publisher",
            "Pub/Sub",
            lambda: PublisherClient(
                batch_settings=types.BatchSettings(max_messages=1),
                publisher_options=types.PublisherOptions(enable_message_ordering=True),
            ),
        )

    def subscriber(self) -> SubscriberClient:
        from google.cloud.pubsub_v1 import SubscriberClient

        return self._shared("subscriber", "Pub/Sub", SubscriberClient)

    def close(self) -> None:
        with self._guard:
            clients = dict(self._clients)
            self._clients.clear()
        for name, client in clients.items():
            if name == "publisher":
                client.stop()  # sends what is still batched
            else:
                client.close()
