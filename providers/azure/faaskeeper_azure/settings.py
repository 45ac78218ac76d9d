"""The Azure provider's reading of a client config (the top-level keys plus the ``"azure"`` section).

.. code-block:: json

    "azure": {
        "cosmos-endpoint": "https://127.0.0.1:8081",
        "cosmos-key": "...",
        "storage-connection-string": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;...",
        "database": "faaskeeper-dev",
        "lock-max-hold": 5
    }

``cosmos-endpoint`` and ``cosmos-key`` reach the Cosmos DB account (the NoSQL API) holding system
storage and, with ``"user-storage": "key-value"``, the user nodes; ``storage-connection-string``
reaches the storage account of the blobs (``"user-storage": "persistent"``) and the queues. Each
falls back to the variable :mod:`faaskeeper_azure.names` names (``AZURE_COSMOS_ENDPOINT``,
``AZURE_COSMOS_KEY``, ``AZURE_STORAGE_CONNECTION_STRING``), which
``python -m faaskeeper_azure.emulator.servers`` prints for the emulators. ``database`` is the
Cosmos DB database (default ``faaskeeper-<deployment-name>``). ``lock-max-hold`` is the seconds a
writer may hold a node lock before another may take it over (default 5).
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from faaskeeper.config import DEFAULT_MAX_DATA_SIZE, Config, StorageType, checked_number, unknown_keys
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_azure.names import (
    ENV_COSMOS_ENDPOINT,
    ENV_COSMOS_KEY,
    ENV_STORAGE_CONNECTION_STRING,
    ResourceNames,
)

if TYPE_CHECKING:
    # The SDKs are imported when a client is first made: the plugin is loaded by every
    # FaaSKeeper process, most of which never talk to Azure.
    from azure.cosmos import CosmosClient, DatabaseProxy
    from azure.storage.blob import BlobServiceClient

#: Node data a Cosmos DB item holds beside its metadata: an item is at most 2 MB of JSON, and the
#: data is kept base64-encoded (4 bytes for 3).
COSMOS_MAX_DATA_SIZE = DEFAULT_MAX_DATA_SIZE
#: What one commit may write: a Cosmos DB transactional batch holds at most 100 operations, one
#: per node.
MAX_COMMIT_WRITES = 100
#: The keys of the ``"azure"`` config section this module reads.
STORAGE_KEYS = frozenset({"cosmos-endpoint", "cosmos-key", "storage-connection-string", "database", "lock-max-hold"})
#: The keys of a deployment to a subscription (:mod:`faaskeeper_azure.deploy.cloud_options`).
CLOUD_KEYS = frozenset({"subscription", "resource-group", "location", "instance-memory"})
#: Every key of the section: those, and the ones the functions, the channel and deploy read.
SECTION_KEYS = STORAGE_KEYS | CLOUD_KEYS | frozenset({"client-host", "functions-endpoint"})
#: Hosts whose Cosmos DB certificate is not verified: the emulator's is made when it starts.
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: The range of ``lock-max-hold``, seconds.
LOCK_MAX_HOLD = (0.01, 3600.0)


def _string(config: Config, key: str, variable: str | None = None) -> str | None:
    section = config.provider_section
    value = section.get(key)
    if value is None and variable is not None:
        value = os.environ.get(variable) or None
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigurationException(f"Config key 'azure.{key}' must be a non-empty string, got {value!r}")
    return value


def _endpoint(config: Config) -> str | None:
    endpoint = _string(config, "cosmos-endpoint", ENV_COSMOS_ENDPOINT)
    if endpoint is None:
        return None
    parsed = urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigurationException(
            f"Config key 'azure.cosmos-endpoint' must be an http(s) URL, e.g. "
            f'"https://ACCOUNT.documents.azure.com:443/", got {endpoint!r}'
        )
    return endpoint


def _connection_string(config: Config) -> str | None:
    value = _string(config, "storage-connection-string", ENV_STORAGE_CONNECTION_STRING)
    if value is None:
        return None
    parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    if "AccountName" not in parts and "BlobEndpoint" not in parts and "QueueEndpoint" not in parts:
        raise ConfigurationException(
            "Config key 'azure.storage-connection-string' must be a storage account's connection string "
            "(AccountName=...;AccountKey=...; or with BlobEndpoint/QueueEndpoint), got a string without either"
        )
    return value


def _database(config: Config, names: ResourceNames) -> str:
    database = _string(config, "database") or names.database
    if not 1 <= len(database) <= 255 or any(c in database for c in "/\\#?"):
        raise ConfigurationException(
            f"Config key 'azure.database' must be 1-255 characters without '/', '\\\\', '#' or '?', got {database!r}"
        )
    return database


def emulator_trust(host: str | None) -> dict[str, Any]:
    """How a Cosmos DB client trusts the emulator on this machine (``host``): the SDK skips the
    verification of a loopback endpoint unless it is given the certificates to trust, so it is
    given the certificate the emulator's launcher made and keeps. Where that is not at hand (an
    emulator of another launcher), unverified, with urllib3's warning of it silenced for that
    host alone."""
    from azure.cosmos import SSLConfiguration

    from faaskeeper_azure.emulator.servers import COSMOS_CERTIFICATE

    if COSMOS_CERTIFICATE.is_file():
        trust = SSLConfiguration()
        trust.SSLCaCerts = str(COSMOS_CERTIFICATE)
        return {"ssl_config": trust}
    warnings.filterwarnings("ignore", message=f"Unverified HTTPS request is being made to host '{host}'")
    return {"connection_verify": False}


#: Seconds a closing Cosmos DB client waits for its endpoint check (a request or two).
BACKGROUND_CHECK_WAIT = 10.0


def settle_background_check(client: object) -> None:
    """Wait for the endpoint check a Cosmos DB client runs in a thread of its own from its start
    (azure-cosmos 4.17): closed under it, the check fails and logs an error with its traceback,
    as every short-lived client (``fk shell -c``) would. Other clients have none."""
    manager = getattr(getattr(client, "client_connection", None), "_global_endpoint_manager", None)
    check = getattr(manager, "_refresh_thread", None)
    if isinstance(check, threading.Thread) and check is not threading.current_thread():
        check.join(BACKGROUND_CHECK_WAIT)


def signs_in(connection_string: str) -> bool:
    """Whether a storage connection string holds only endpoints, so clients sign in with an identity."""
    parts = dict(p.split("=", 1) for p in connection_string.split(";") if "=" in p)
    return not ({"AccountKey", "SharedAccessSignature"} & parts.keys()) and "UseDevelopmentStorage" not in parts


def identity_credential() -> Any:
    """``DefaultAzureCredential``: a managed identity in a Function App, ``az login`` or a service
    principal's variables elsewhere."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


@dataclass(frozen=True)
class AzureSettings:
    names: ResourceNames
    database: str
    #: Where Cosmos DB and the storage account are; None until deployed (or given by variables).
    cosmos_endpoint: str | None = None
    cosmos_key: str | None = field(default=None, repr=False)
    storage_connection_string: str | None = field(default=None, repr=False)
    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    lock_max_hold: float = 5.0
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _guard: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    @staticmethod
    def from_config(config: Config) -> AzureSettings:
        section = config.provider_section
        for key, near in unknown_keys(section, SECTION_KEYS):
            hint = f" (did you mean {near!r}?)" if near else ""
            raise ConfigurationException(f"Unknown config key 'azure.{key}'{hint}")
        if config.user_storage is StorageType.HYBRID:
            raise ConfigurationException(
                'Config key \'user-storage\' must be "persistent" (Blob Storage) or "key-value" (Cosmos DB) '
                'for Azure, got "hybrid"'
            )
        names = ResourceNames(config.deployment_name)
        hold = checked_number("azure.lock-max-hold", section.get("lock-max-hold", 5.0), *LOCK_MAX_HOLD, unit="seconds")
        max_data_size = config.max_data_size
        if "max-data-size" in config.raw and max_data_size > COSMOS_MAX_DATA_SIZE:
            raise ConfigurationException(
                f"Config key 'max-data-size' must be at most {COSMOS_MAX_DATA_SIZE} on Azure "
                f"(a Cosmos DB item holds 2 MB, the data base64-encoded), got {max_data_size}"
            )
        return AzureSettings(
            names=names,
            database=_database(config, names),
            cosmos_endpoint=_endpoint(config),
            cosmos_key=_string(config, "cosmos-key", ENV_COSMOS_KEY),
            storage_connection_string=_connection_string(config),
            max_data_size=min(max_data_size, COSMOS_MAX_DATA_SIZE),
            lock_max_hold=float(hold),
        )

    def _shared(self, name: str, action: str, make: Any) -> Any:
        """The client ``name``, made on first use; ProviderException naming ``action`` if it cannot be."""
        from faaskeeper_azure.errors import azure_errors

        with self._guard:
            client = self._clients.get(name)
            if client is None:
                with azure_errors(action):
                    client = make()
                self._clients[name] = client
            return client

    def _required(self, value: str | None, key: str, variable: str) -> str:
        if value is None:
            raise ConfigurationException(
                f"Config key 'azure.{key}' is required for this (or set {variable}); against the emulators, "
                "python -m faaskeeper_azure.emulator.servers prints it"
            )
        return value

    def cosmos(self) -> CosmosClient:
        """A shared Cosmos DB client of the account (thread-safe)."""
        from azure.cosmos import CosmosClient

        from faaskeeper_azure.cost.metering import cosmos_response_hook

        endpoint = self._required(self.cosmos_endpoint, "cosmos-endpoint", ENV_COSMOS_ENDPOINT)
        host = urlparse(endpoint).hostname
        # The emulators serve a self-made certificate on the loopback interface only.
        local = host in LOOPBACK
        # A deployment to a subscription has no keys: clients and functions sign in with an identity.
        key: Any = (
            self.cosmos_key
            if self.cosmos_key is not None or local
            else self._shared("identity", "sign in to Azure", identity_credential)
        )
        key = self._required(key, "cosmos-key", ENV_COSMOS_KEY)
        trusted = emulator_trust(host) if local else {}
        client: CosmosClient = self._shared(
            "cosmos",
            "connect to Cosmos DB",
            # The emulator's request charges are made up: its requests units are estimated instead.
            lambda: CosmosClient(
                endpoint,
                credential=key,
                **trusted,
                raw_response_hook=cosmos_response_hook(estimate=local),
            ),
        )
        return client

    def database_client(self) -> DatabaseProxy:
        return self.cosmos().get_database_client(self.database)

    def blob_service(self) -> BlobServiceClient:
        """A shared Blob Storage client of the storage account."""
        from azure.storage.blob import BlobServiceClient

        from faaskeeper_azure.cost.metering import storage_response_hook

        connection = self._required(
            self.storage_connection_string, "storage-connection-string", ENV_STORAGE_CONNECTION_STRING
        )
        credential = self.storage_credential()
        client: BlobServiceClient = self._shared(
            "blob",
            "connect to Blob Storage",
            lambda: BlobServiceClient.from_connection_string(
                connection, credential=credential, raw_response_hook=storage_response_hook("blob")
            ),
        )
        return client

    def storage_credential(self) -> Any:
        """None where the connection string carries a key or SAS; else the identity's credential."""
        if self.storage_connection_string is None or not signs_in(self.storage_connection_string):
            return None
        return self._shared("identity", "sign in to Azure", identity_credential)

    def close(self) -> None:
        with self._guard:
            clients = dict(self._clients)
            self._clients.clear()
        for client in clients.values():
            settle_background_check(client)
            close = getattr(client, "close", None)  # a credential may have nothing to close
            if close is not None:
                close()
