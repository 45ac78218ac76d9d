"""A deployment to a subscription (a config naming ``azure.subscription``), behind one seam.

``fk deploy service`` creates the resource group if missing, deploys the ARM template
(:mod:`faaskeeper_azure.deploy.template`, incremental mode) with ``azure-mgmt-resource-deployments``
and zip-deploys the functions' package (:mod:`faaskeeper_azure.deploy.package`) to the Function
App's one-deploy endpoint (``/api/publish``, with a remote build of ``requirements.txt``).
``fk deploy functions`` only publishes the package; ``fk remove service`` deletes the resource group
where the deployment created it, else the resources the template made (and their role
assignments); ``fk status`` adds the template's deployment and its resources.

:func:`connect` is the one place the clients come from (``azure-identity``'s
``DefaultAzureCredential``: ``az login``, a managed identity, or the ``AZURE_*`` variables of a
service principal); :func:`use` makes it return stand-ins for a block (tests). The SDKs are imported
only here and only then: ``pip install 'faaskeeper-azure[deploy]'`` adds them.
"""

from __future__ import annotations

import base64
import importlib
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from faaskeeper.api.provider import SILENT, Reporter, ResourceStatus
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException, ProviderException
from faaskeeper_azure.deploy.cloud_options import CloudOptions
from faaskeeper_azure.deploy.package import build_package
from faaskeeper_azure.deploy.template import (
    DEPLOYMENT_TAG,
    STORAGE_ROLES,
    api_version,
    assignment_name,
    build_template,
)
from faaskeeper_azure.errors import Refused, azure_errors, is_missing
from faaskeeper_azure.settings import AzureSettings

#: Seconds to wait for the template's deployment, a deletion, and the package's upload and build.
OPERATION_TIMEOUT = 1800.0
PUBLISH_TIMEOUT = 900.0
MANAGEMENT_SCOPE = "https://management.azure.com/.default"


@dataclass(frozen=True)
class CloudApis:
    #: ``azure.mgmt.resource.ResourceManagementClient``: resource groups and resources.
    resources: Any
    #: ``azure.mgmt.resource.deployments.DeploymentsMgmtClient``: the template's deployments.
    deployments: Any
    #: POSTs a zip package to a Function App's publish URL: ``publish(url, data)``.
    publish: Callable[[str, bytes], None]
    #: The object id of the signed-in principal (granted the data roles), if known.
    principal_id: str | None = None


_override: CloudApis | None = None


@contextmanager
def use(apis: CloudApis) -> Iterator[CloudApis]:
    """Make :func:`connect` return ``apis`` while the block runs."""
    global _override
    saved, _override = _override, apis
    try:
        yield apis
    finally:
        _override = saved


def _principal_id(token: str) -> str | None:
    """The ``oid`` claim of an Entra ID access token (the signed-in principal's object id)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    oid = claims.get("oid") if isinstance(claims, dict) else None
    return oid if isinstance(oid, str) else None


def connect(options: CloudOptions | None) -> CloudApis:
    """The management clients of ``options.subscription`` with the default credential."""
    if _override is not None:
        return _override
    if options is None:
        raise ConfigurationException("Config key 'azure.subscription' is required to deploy to Azure")
    try:
        identity = importlib.import_module("azure.identity")
        resource = importlib.import_module("azure.mgmt.resource")
        deployments = importlib.import_module("azure.mgmt.resource.deployments")
        requests = importlib.import_module("requests")
    except ImportError as err:
        raise ConfigurationException(
            f"Deploying to an Azure subscription needs the management clients ({err.name} is missing): "
            "pip install 'faaskeeper-azure[deploy]'; or leave out 'azure.subscription' to deploy to the emulators"
        ) from err
    with azure_errors("sign in to Azure"):
        credential = identity.DefaultAzureCredential()
        token = credential.get_token(MANAGEMENT_SCOPE)

    def publish(url: str, data: bytes) -> None:
        bearer = credential.get_token(MANAGEMENT_SCOPE).token
        response = requests.post(
            url,
            data=data,
            headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/zip"},
            timeout=PUBLISH_TIMEOUT,
        )
        if response.status_code >= 400:
            raise ProviderException(f"Azure zip deploy to {url} failed ({response.status_code}): {response.text[:300]}")

    return CloudApis(
        resources=resource.ResourceManagementClient(credential, options.subscription),
        deployments=deployments.DeploymentsMgmtClient(credential, options.subscription),
        publish=publish,
        principal_id=_principal_id(token.token),
    )


def output(outputs: Mapping[str, Any], name: str) -> str:
    value = (outputs.get(name) or {}).get("value")
    if not isinstance(value, str) or not value:
        raise ProviderException(f"Azure's deployment of the ARM template gave no output {name!r}")
    return value


def client_config(config: Config, outputs: Mapping[str, Any]) -> Config:
    """``config`` with the endpoints of the accounts the template made (the deployment's ``outputs``);
    without keys: clients and functions sign in with an identity."""
    raw = config.serialize()
    section = dict(raw.get("azure", {}))
    blob, queue = output(outputs, "blobEndpoint"), output(outputs, "queueEndpoint")
    section.update(
        {
            "cosmos-endpoint": output(outputs, "cosmosEndpoint"),
            "storage-connection-string": f"BlobEndpoint={blob};QueueEndpoint={queue}",
        }
    )
    section.pop("cosmos-key", None)
    raw["azure"] = section
    return Config.deserialize(raw)


def endpoints_config(config: Config, options: CloudOptions) -> Config:
    """``config`` with the endpoints the accounts will have in Azure's public cloud: what the functions
    read (the template's app settings hold it before the accounts exist)."""
    return client_config(
        config,
        {
            "cosmosEndpoint": {"value": options.cosmos_endpoint},
            "blobEndpoint": {"value": options.storage_endpoint("blob")},
            "queueEndpoint": {"value": options.storage_endpoint("queue")},
        },
    )


def deployment_request(template: dict[str, Any], options: CloudOptions) -> Any:
    """The request of the template's deployment, in the SDK's own model types."""
    from azure.mgmt.resource.deployments.models import Deployment, DeploymentMode, DeploymentProperties

    return Deployment(
        properties=DeploymentProperties(mode=DeploymentMode.INCREMENTAL, template=template, parameters={}),
        tags={DEPLOYMENT_TAG: options.deployment},
    )


def publish_url(options: CloudOptions) -> str:
    return f"https://{options.function_app}.scm.azurewebsites.net/api/publish?RemoteBuild=true"


def deploy(
    apis: CloudApis, config: Config, settings: AzureSettings, options: CloudOptions, *, reporter: Reporter = SILENT
) -> Config:
    """Create the resource group (if missing) and deploy the template; the client config, with the
    endpoints of the accounts made. The functions read ``config`` with the public cloud's endpoints."""
    from azure.mgmt.resource.resources.models import ResourceGroup

    group = options.resource_group
    with azure_errors(f"read the resource group {group}"):
        exists = apis.resources.resource_groups.check_existence(group)
    if not exists:
        reporter.step(f"creating the resource group {group} in {options.location}")
        with azure_errors(f"create the resource group {group}"):
            apis.resources.resource_groups.create_or_update(
                group, ResourceGroup(location=options.location, tags={DEPLOYMENT_TAG: options.deployment})
            )
    template = build_template(endpoints_config(config, options), settings, options, apis.principal_id)
    reporter.step(
        f"deploying the ARM template {options.deployment_name} to {group}: storage account "
        f"{options.storage_account}, Cosmos DB account {options.cosmos_account}, Function App {options.function_app}"
    )
    with azure_errors(f"deploy the ARM template {options.deployment_name}"):
        deployed = apis.deployments.deployments.begin_create_or_update(
            group, options.deployment_name, deployment_request(template, options)
        ).result(timeout=OPERATION_TIMEOUT)
    return client_config(config, deployed.properties.outputs or {})


def publish_functions(apis: CloudApis, options: CloudOptions, *, reporter: Reporter = SILENT) -> None:
    package = build_package()
    reporter.step(f"zip-deploying the functions' package ({len(package.data) // 1024} KiB) to {options.function_app}")
    apis.publish(publish_url(options), package.data)


def _resource_ids(options: CloudOptions, principal_id: str | None) -> list[tuple[str, str]]:
    """The template's top-level resources and the storage role assignments of the app and of
    ``principal_id`` (the deployer, signed in again): (id, API version), in the order they are
    deleted (the Cosmos DB role assignments go with the account)."""
    base = f"/subscriptions/{options.subscription}/resourceGroups/{options.resource_group}/providers"
    account = f"{base}/Microsoft.Storage/storageAccounts/{options.storage_account}"
    assignment = "Microsoft.Authorization/roleAssignments"
    ids = [
        (
            f"{account}/providers/{assignment}/{assignment_name(options.storage_account, role, who)}",
            api_version(assignment),
        )
        for role in STORAGE_ROLES
        for who in (options.function_app, *([principal_id] if principal_id else []))
    ]
    ids += [
        (f"{base}/Microsoft.Web/sites/{options.function_app}", api_version("Microsoft.Web/sites")),
        (f"{base}/Microsoft.Web/serverfarms/{options.plan}", api_version("Microsoft.Web/serverfarms")),
        (
            f"{base}/Microsoft.DocumentDB/databaseAccounts/{options.cosmos_account}",
            api_version("Microsoft.DocumentDB/databaseAccounts"),
        ),
        (account, api_version("Microsoft.Storage/storageAccounts")),
    ]
    return ids


def _ignoring_missing(action: str, call: Callable[[], Any]) -> None:
    with azure_errors(action):
        try:
            call()
        except Refused as err:
            if not is_missing(err):
                raise


def remove(apis: CloudApis, options: CloudOptions, *, reporter: Reporter = SILENT) -> None:
    """Delete the resource group if the deployment made it, else its resources; none is no error."""
    group = options.resource_group
    with azure_errors(f"read the resource group {group}"):
        if not apis.resources.resource_groups.check_existence(group):
            return
        tags = apis.resources.resource_groups.get(group).tags or {}
    if tags.get(DEPLOYMENT_TAG) == options.deployment:
        reporter.step(f"deleting the resource group {group} and all it holds")
        _ignoring_missing(
            f"delete the resource group {group}",
            lambda: apis.resources.resource_groups.begin_delete(group).result(timeout=OPERATION_TIMEOUT),
        )
        return
    for resource, version in _resource_ids(options, apis.principal_id):
        reporter.step(f"deleting {resource.rsplit('/providers/', 1)[1]}")
        with azure_errors(f"delete {resource}"):
            try:
                apis.resources.resources.begin_delete_by_id(resource, api_version=version).result(
                    timeout=OPERATION_TIMEOUT
                )
            except Refused as err:
                if not is_missing(err):
                    raise
    _ignoring_missing(
        f"delete the deployment record {options.deployment_name}",
        lambda: apis.deployments.deployments.begin_delete(group, options.deployment_name).result(
            timeout=OPERATION_TIMEOUT
        ),
    )


def resources(apis: CloudApis, options: CloudOptions) -> list[ResourceStatus]:
    """The template's deployment and the resources it made, with their provisioning states."""
    group = options.resource_group
    with azure_errors(f"read the deployment {options.deployment_name}"):
        try:
            deployment = apis.deployments.deployments.get(group, options.deployment_name)
            provisioning = deployment.properties.provisioning_state
            state = str(getattr(provisioning, "value", provisioning))
        except Refused as err:
            if not is_missing(err):
                raise
            state = "missing"
    found = [ResourceStatus(kind="ARM deployment", name=f"{group}/{options.deployment_name}", state=state)]
    if state == "missing":
        return found
    tagged = f"tagName eq '{DEPLOYMENT_TAG}' and tagValue eq '{options.deployment}'"
    with azure_errors(f"list the resources of {group}"):
        listed = list(apis.resources.resources.list_by_resource_group(group, filter=tagged, expand="provisioningState"))
    found += [
        ResourceStatus(kind=str(r.type), name=str(r.name), state=str(r.provisioning_state or "present")) for r in listed
    ]
    return found
