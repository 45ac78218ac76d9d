"""Stand-ins for the Azure Resource Manager clients, which no emulator serves.

They keep what they were asked in ``requests`` and hold the resource groups, template deployments
and resources they were asked to make. Each request must be the SDK's own model type (a
``ResourceGroup``, a ``Deployment``), and is serialised as the SDK sends it (``as_dict``), so a
field the SDK does not know fails here as it would there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.resource.deployments.models import Deployment, DeploymentExtended, DeploymentMode
from azure.mgmt.resource.resources.models import GenericResourceExpanded, ResourceGroup

from faaskeeper_azure.deploy.cloud import CloudApis


def not_found(what: str) -> ResourceNotFoundError:
    err = ResourceNotFoundError(message=f"{what} was not found")
    err.status_code = 404
    return err


@dataclass
class Done:
    """A long-running operation that has finished."""

    value: Any = None

    def result(self, timeout: float | None = None) -> Any:
        return self.value


@dataclass
class FakeCloud:
    requests: list[tuple[str, Any]] = field(default_factory=list)
    groups: dict[str, ResourceGroup] = field(default_factory=dict)
    #: The deployments' templates, by (group, name).
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    #: Resource ids the templates made, each with its type.
    made: dict[str, str] = field(default_factory=dict)
    published: list[tuple[str, bytes]] = field(default_factory=list)
    #: What ``outputs`` the template's deployment answers (the emulators' endpoints in the tests).
    outputs: dict[str, Any] = field(default_factory=dict)
    subscription: str = ""
    #: Called with each resource a template declares, and with each resource type deleted: what
    #: makes (and removes) the accounts' databases, containers and queues on the emulators.
    realize: Callable[[dict[str, Any]], None] = lambda resource: None
    forget: Callable[[str], None] = lambda kind: None

    def called(self, method: str) -> list[Any]:
        return [request for name, request in self.requests if name == method]

    def apis(self, principal_id: str | None = None) -> CloudApis:
        return CloudApis(
            resources=_Resources(self), deployments=_Deployments(self), publish=self.publish, principal_id=principal_id
        )

    def publish(self, url: str, data: bytes) -> None:
        self.published.append((url, data))


class _ResourceGroups:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def check_existence(self, name: str) -> bool:
        return name in self.cloud.groups

    def get(self, name: str) -> ResourceGroup:
        if name not in self.cloud.groups:
            raise not_found(f"resource group {name}")
        return self.cloud.groups[name]

    def create_or_update(self, name: str, group: ResourceGroup) -> ResourceGroup:
        assert isinstance(group, ResourceGroup)
        self.cloud.requests.append(("create_resource_group", (name, group.as_dict())))
        self.cloud.groups[name] = group
        return group

    def begin_delete(self, name: str) -> Done:
        self.cloud.requests.append(("delete_resource_group", name))
        if self.cloud.groups.pop(name, None) is None:
            raise not_found(f"resource group {name}")
        prefix = f"/subscriptions/{self.cloud.subscription}/resourceGroups/{name}/"
        for kind in {v for k, v in self.cloud.made.items() if k.startswith(prefix)}:
            self.cloud.forget(kind)
        self.cloud.made = {k: v for k, v in self.cloud.made.items() if not k.startswith(prefix)}
        self.cloud.deployments = {k: v for k, v in self.cloud.deployments.items() if k[0] != name}
        return Done()


class _ResourceOperations:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def begin_delete_by_id(self, resource_id: str, *, api_version: str) -> Done:
        self.cloud.requests.append(("delete_by_id", (resource_id, api_version)))
        kind = self.cloud.made.pop(resource_id, None)
        if kind is None:
            raise not_found(resource_id)
        self.cloud.forget(kind)
        return Done()

    def list_by_resource_group(self, group: str, *, filter: str, expand: str) -> list[GenericResourceExpanded]:
        prefix = f"/subscriptions/{self.cloud.subscription}/resourceGroups/{group}/providers/"
        return [
            GenericResourceExpanded({"type": kind, "name": rid.rsplit("/", 1)[1], "provisioningState": "Succeeded"})
            for rid, kind in self.cloud.made.items()
            if rid.startswith(prefix) and "/providers/Microsoft.Authorization/" not in rid
        ]


class _Resources:
    def __init__(self, cloud: FakeCloud) -> None:
        self.resource_groups = _ResourceGroups(cloud)
        self.resources = _ResourceOperations(cloud)


class _DeploymentOperations:
    def __init__(self, cloud: FakeCloud) -> None:
        self.cloud = cloud

    def begin_create_or_update(self, group: str, name: str, deployment: Deployment) -> Done:
        assert isinstance(deployment, Deployment)
        assert deployment.properties.mode == DeploymentMode.INCREMENTAL
        self.cloud.requests.append(("create_deployment", (group, name, deployment.as_dict())))
        if group not in self.cloud.groups:
            raise not_found(f"resource group {group}")
        template = deployment.properties.template
        assert isinstance(template, dict), "the template travels inline"
        self.cloud.deployments[(group, name)] = template
        base = f"/subscriptions/{self.cloud.subscription}/resourceGroups/{group}/providers"
        for resource in template["resources"]:
            self.cloud.realize(resource)
            if "/" in resource["name"]:  # a child: a container, a queue, a database, a setting
                continue
            scope = f"{base}/{resource['scope']}/providers" if "scope" in resource else base
            self.cloud.made[f"{scope}/{resource['type']}/{resource['name']}"] = resource["type"]
        return Done(self.get(group, name))

    def get(self, group: str, name: str) -> DeploymentExtended:
        if (group, name) not in self.cloud.deployments:
            raise not_found(f"deployment {name}")
        return DeploymentExtended(
            {"name": name, "properties": {"provisioningState": "Succeeded", "outputs": self.cloud.outputs}}
        )

    def begin_delete(self, group: str, name: str) -> Done:
        self.cloud.requests.append(("delete_deployment", (group, name)))
        if self.cloud.deployments.pop((group, name), None) is None:
            raise not_found(f"deployment {name}")
        return Done()


class _Deployments:
    def __init__(self, cloud: FakeCloud) -> None:
        self.deployments = _DeploymentOperations(cloud)
