"""Where and how a deployment to a subscription is made, read from the ``"azure"`` section.

.. code-block:: json

    "azure": {"subscription": "00000000-0000-0000-0000-000000000000", "resource-group": "faaskeeper-dev",
              "location": "eastus", "instance-memory": 2048}

A config naming ``subscription`` is deployed there with an ARM template
(:mod:`faaskeeper_azure.deploy.template`); one without it is deployed to the endpoints it gives
(the emulators). The accounts and the Function App have names unique in all of Azure: each is
``fk`` and the deployment name with a digest of the subscription, resource group and deployment
name, so deploying the same config again finds the same resources.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_azure.names import ResourceNames

_SUBSCRIPTION = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
#: Resource group names: 1-90 letters, digits, '_', '-', '.', '(' and ')', not ending with '.'.
_RESOURCE_GROUP = re.compile(r"^[-\w.()]{0,89}[-\w()]$")
_LOCATION = re.compile(r"^[a-z]+[a-z0-9]*$")
#: The instance sizes (MB) of the Flex Consumption plan.
INSTANCE_MEMORY = (512, 2048, 4096)
#: Storage account names: 3-24 lowercase letters and digits.
STORAGE_ACCOUNT_LENGTH = 24


@dataclass(frozen=True)
class CloudOptions:
    subscription: str
    resource_group: str
    location: str = "eastus"
    instance_memory: int = 2048
    #: The deployment name, lowercase letters, digits and hyphens (:class:`ResourceNames`).
    deployment: str = ""

    @property
    def digest(self) -> str:
        """Eight hex digits naming the subscription, resource group and deployment together."""
        text = f"{self.subscription}/{self.resource_group.lower()}/{self.deployment}"
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    @property
    def storage_account(self) -> str:
        stem = "fk" + self.deployment.replace("-", "")
        return stem[: STORAGE_ACCOUNT_LENGTH - len(self.digest)] + self.digest

    @property
    def cosmos_account(self) -> str:
        """3-44 lowercase letters, digits and hyphens (the deployment name is at most 40)."""
        return f"fk-{self.deployment[:31]}-{self.digest}"

    @property
    def function_app(self) -> str:
        return f"fk-{self.deployment}-{self.digest}"

    @property
    def plan(self) -> str:
        return f"{self.function_app}-plan"

    @property
    def deployment_name(self) -> str:
        """The ARM deployment (the record of the template's deployment in the resource group)."""
        return f"faaskeeper-{self.deployment}"

    @property
    def cosmos_endpoint(self) -> str:
        return f"https://{self.cosmos_account}.documents.azure.com:443/"

    def storage_endpoint(self, service: str) -> str:
        """``blob``, ``queue`` or ``table``: the storage account's endpoint of that service."""
        return f"https://{self.storage_account}.{service}.core.windows.net/"

    @property
    def storage_connection_string(self) -> str:
        """A connection string with the endpoints and no key: clients sign in with an identity."""
        return f"BlobEndpoint={self.storage_endpoint('blob')};QueueEndpoint={self.storage_endpoint('queue')}"

    @property
    def function_url(self) -> str:
        return f"https://{self.function_app}.azurewebsites.net"

    @staticmethod
    def of(config: Config) -> CloudOptions | None:
        """The options of a deployment to a subscription; None for one to the endpoints (emulators)."""
        section = config.provider_section
        subscription = section.get("subscription")
        if subscription is not None and (
            not isinstance(subscription, str) or not _SUBSCRIPTION.match(subscription.lower())
        ):
            raise ConfigurationException(
                "Config key 'azure.subscription' must be a subscription id "
                f'("00000000-0000-0000-0000-000000000000"), got {subscription!r}'
            )
        names = ResourceNames(config.deployment_name)
        group = section.get("resource-group", f"faaskeeper-{names.deployment}")
        if not isinstance(group, str) or not _RESOURCE_GROUP.match(group):
            raise ConfigurationException(
                "Config key 'azure.resource-group' must be 1-90 letters, digits, '_', '-', '.', '(' or ')', "
                f"not ending with '.', got {group!r}"
            )
        location = section.get("location", CloudOptions.location)
        if not isinstance(location, str) or not _LOCATION.match(location):
            raise ConfigurationException(
                f"Config key 'azure.location' must be a region such as \"eastus\", got {location!r}"
            )
        memory = instance_memory(config)
        if subscription is None:  # the other keys are checked all the same: a typo is told at once
            return None
        return CloudOptions(
            subscription=subscription.lower(),
            resource_group=group,
            location=location,
            instance_memory=memory,
            deployment=names.deployment,
        )


def instance_memory(config: Config) -> int:
    """The memory (MB) of each Flex Consumption instance the Function App of ``config`` runs on:
    ``azure.instance-memory``, 2048 by default; a ConfigurationException names a size the plan has not."""
    memory = config.provider_section.get("instance-memory", CloudOptions.instance_memory)
    if isinstance(memory, bool) or memory not in INSTANCE_MEMORY:
        choices = ", ".join(map(str, INSTANCE_MEMORY))
        raise ConfigurationException(f"Config key 'azure.instance-memory' must be one of {choices}, got {memory!r}")
    return int(memory)
