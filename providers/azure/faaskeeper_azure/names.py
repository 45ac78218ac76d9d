"""Names of a deployment's Azure resources, derived from its deployment name.

Every module of the provider (runtime, deploy, tests) derives names from here, so a deployment
named ``dev`` is the Cosmos DB database ``faaskeeper-dev``, the blob container ``fk-dev-nodes``
and the Storage Queues ``fk-dev-writer`` and ``fk-dev-distributor``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from faaskeeper.exceptions import ConfigurationException

#: Blob containers and Storage Queues take 3-63 lowercase letters, digits and single hyphens; the
#: longest derived name, ``fk-<deployment>-distributor-poison``, must fit.
_DEPLOYMENT = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){0,39}$")
#: Cosmos DB containers of a deployment's database.
SYSTEM_CONTAINER = "system"
USER_CONTAINER = "nodes"
#: The partition key path of both containers (see :mod:`faaskeeper_azure.storage.system`).
PARTITION_KEY_PATH = "/pk"
#: The suffix the Functions host gives the queue where it moves a message it failed to process
#: past the maximum dequeue count.
POISON_SUFFIX = "-poison"
#: Where ``python -m faaskeeper_azure.emulator.servers`` and the tests point the clients; a config
#: key of the ``"azure"`` section, where given, wins over its variable.
ENV_COSMOS_ENDPOINT = "AZURE_COSMOS_ENDPOINT"
ENV_COSMOS_KEY = "AZURE_COSMOS_KEY"
ENV_STORAGE_CONNECTION_STRING = "AZURE_STORAGE_CONNECTION_STRING"
EMULATOR_VARIABLES = (ENV_COSMOS_ENDPOINT, ENV_COSMOS_KEY, ENV_STORAGE_CONNECTION_STRING)


def check_name(name: str, what: str) -> str:
    """``name`` if it is a valid container or queue name (3-63 lowercase letters, digits and
    single hyphens, starting and ending with a letter or digit); otherwise ConfigurationException."""
    if not (3 <= len(name) <= 63 and re.fullmatch(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*", name)):
        raise ConfigurationException(
            f"{what} {name!r} is not a valid Azure name (3-63 lowercase letters, digits and single hyphens)"
        )
    return name


@dataclass(frozen=True)
class ResourceNames:
    deployment: str

    def __post_init__(self) -> None:
        if not _DEPLOYMENT.match(self.deployment):
            raise ConfigurationException(
                f"Config key 'deployment-name' must be 1-40 lowercase letters, digits or single '-' (starting and "
                f"ending with a letter or digit) on Azure, where it names queues and blob containers; "
                f"got {self.deployment!r}"
            )

    @property
    def prefix(self) -> str:
        return f"fk-{self.deployment}"

    # Cosmos DB
    @property
    def database(self) -> str:
        """The default Cosmos DB database (the ``azure.database`` key names another)."""
        return f"faaskeeper-{self.deployment}"

    @property
    def system_container(self) -> str:
        return SYSTEM_CONTAINER

    @property
    def user_container(self) -> str:
        """The container of the user nodes with ``"user-storage": "key-value"``."""
        return USER_CONTAINER

    # Blob Storage
    @property
    def blob_container(self) -> str:
        """The container of the user nodes with ``"user-storage": "persistent"``, one blob per node."""
        return f"{self.prefix}-nodes"

    # Storage Queues
    def queue(self, function: str) -> str:
        """The queue feeding ``function`` (``writer``: requests, ``distributor``: doorbells)."""
        return f"{self.prefix}-{function}"

    def poison_queue(self, function: str) -> str:
        return f"{self.queue(function)}{POISON_SUFFIX}"
