"""``fk deploy`` / ``fk status`` / ``fk remove`` to a subscription (a config naming
``azure.subscription``): the ARM template's structure, every request built with the SDK's own
model types and answered by the stand-ins of :mod:`.fake_cloud`, the state written on the
emulators (which play the accounts the template makes), and the functions' package."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.cosmos import CosmosClient, PartitionKey
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from faaskeeper.config import Config, StorageType
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.environment import ENV_CONFIG
from faaskeeper_azure import settings as settings_module
from faaskeeper_azure.deploy import cloud
from faaskeeper_azure.deploy.cloud_options import CloudOptions
from faaskeeper_azure.deploy.package import build_package
from faaskeeper_azure.deploy.template import (
    API_VERSIONS,
    COSMOS_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_QUEUE_DATA_CONTRIBUTOR,
    build_template,
)
from faaskeeper_azure.emulator.servers import AZURITE_ACCOUNT, AZURITE_KEY, Emulators
from faaskeeper_azure.names import PARTITION_KEY_PATH
from faaskeeper_azure.queues import MAX_DEQUEUE
from faaskeeper_azure.settings import AzureSettings, emulator_trust, settle_background_check

from .fake_cloud import FakeCloud

SUBSCRIPTION = "12345678-1234-1234-1234-123456789abc"
DEPLOYER = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
RESOURCE_ID = re.compile(r"^\[resourceId\('([^']+)', (.+)\)\]$")


def subscription_config(user_storage: str = "persistent", **section: Any) -> Config:
    return Config.deserialize(
        {
            "cloud-provider": "azure",
            "deployment-name": f"c{uuid.uuid4().hex[:8]}",
            "user-storage": user_storage,
            "heartbeat-frequency": 30,
            "azure": {"subscription": SUBSCRIPTION, "location": "westeurope", **section},
        }
    )


def template_of(config: Config, principal_id: str | None = None) -> dict[str, Any]:
    options = CloudOptions.of(config)
    assert options is not None
    return build_template(
        cloud.endpoints_config(config, options), AzureSettings.from_config(config), options, principal_id
    )


def by_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in template["resources"] if r["type"] == kind]


@pytest.mark.parametrize("user_storage", ["persistent", "key-value"])
def test_every_resource_has_its_api_version_and_every_dependency_is_declared(user_storage: str) -> None:
    template = template_of(subscription_config(user_storage), DEPLOYER)
    assert template["$schema"].endswith("deploymentTemplate.json#")
    declared = {(r["type"], r["name"]) for r in template["resources"]}
    assert len(declared) == len(template["resources"]), "no resource is declared twice"
    assert {r["type"] for r in template["resources"]} == set(API_VERSIONS)
    for resource in template["resources"]:
        assert resource["apiVersion"] == API_VERSIONS[resource["type"]]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", resource["apiVersion"])
        for dependency in resource.get("dependsOn", []):
            found = RESOURCE_ID.match(dependency)
            assert found, dependency
            names = "/".join(n.strip().strip("'") for n in found.group(2).split(","))
            assert (found.group(1), names) in declared, f"{resource['name']} depends on undeclared {dependency}"


def test_the_containers_are_partitioned_as_the_storage_keys_its_items() -> None:
    for user_storage, containers in (("persistent", ["system"]), ("key-value", ["system", "nodes"])):
        config = subscription_config(user_storage)
        options = CloudOptions.of(config)
        assert options is not None
        database = AzureSettings.from_config(config).database
        template = template_of(config)
        [db] = by_type(template, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases")
        assert db["name"] == f"{options.cosmos_account}/{database}"
        made = by_type(template, "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers")
        assert [c["properties"]["resource"]["id"] for c in made] == containers
        for container in made:
            assert container["properties"]["resource"]["partitionKey"] == {
                "paths": [PARTITION_KEY_PATH],
                "kind": "Hash",
            }
        [account] = by_type(template, "Microsoft.DocumentDB/databaseAccounts")
        assert account["properties"]["consistencyPolicy"]["defaultConsistencyLevel"] == "Strong"
        assert account["properties"]["disableLocalAuth"] is True
        blobs = [
            c["name"].rsplit("/", 1)[1]
            for c in by_type(template, "Microsoft.Storage/storageAccounts/blobServices/containers")
        ]
        names = AzureSettings.from_config(config).names
        assert (names.blob_container in blobs) == (config.user_storage is StorageType.PERSISTENT)
        queues = [
            q["name"].rsplit("/", 1)[1]
            for q in by_type(template, "Microsoft.Storage/storageAccounts/queueServices/queues")
        ]
        assert sorted(queues) == sorted(
            [
                names.queue("writer"),
                names.queue("distributor"),
                names.poison_queue("writer"),
                names.poison_queue("distributor"),
            ]
        )


def test_the_function_app_runs_on_flex_consumption_with_its_identity_and_settings() -> None:
    config = subscription_config()
    options = CloudOptions.of(config)
    assert options is not None
    template = template_of(config)
    [plan] = by_type(template, "Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True
    [site] = by_type(template, "Microsoft.Web/sites")
    assert site["identity"] == {"type": "SystemAssigned"}
    assert site["kind"] == "functionapp,linux"
    app_config = site["properties"]["functionAppConfig"]
    assert app_config["runtime"] == {"name": "python", "version": "3.11"}
    assert app_config["scaleAndConcurrency"]["instanceMemoryMB"] == 2048
    assert app_config["deployment"]["storage"]["authentication"] == {"type": "SystemAssignedIdentity"}
    [settings] = by_type(template, "Microsoft.Web/sites/config")
    assert settings["name"] == f"{options.function_app}/appsettings"
    values = settings["properties"]
    names = AzureSettings.from_config(config).names
    assert values["FK_WRITER_QUEUE"] == names.queue("writer")
    assert values["FK_DISTRIBUTOR_QUEUE"] == names.queue("distributor")
    assert values["FK_HEARTBEAT_SCHEDULE"] == "*/30 * * * * *"
    assert values["AzureWebJobsStorage__accountName"] == options.storage_account
    assert values["FK_STORAGE__queueServiceUri"] == f"https://{options.storage_account}.queue.core.windows.net"
    assert "FK_STORAGE" not in values, "the queue trigger signs in with the identity, not a connection string"
    assert values["FK_WATCH_URL"] == f"https://{options.function_app}.azurewebsites.net/api/watch"
    assert values["FK_WATCH_KEY"].startswith("[listKeys(")
    # The functions read the client config with the accounts' endpoints and no key.
    functions_config = Config.deserialize(json.loads(values[ENV_CONFIG]))
    section = functions_config.provider_section
    assert section["cosmos-endpoint"] == f"https://{options.cosmos_account}.documents.azure.com:443/"
    assert "AccountKey" not in section["storage-connection-string"]
    assert "cosmos-key" not in section


def test_the_identity_gets_the_least_roles_and_the_deployer_the_same() -> None:
    config = subscription_config()
    options = CloudOptions.of(config)
    assert options is not None
    database = AzureSettings.from_config(config).database
    template = template_of(config, DEPLOYER)
    storage = by_type(template, "Microsoft.Authorization/roleAssignments")
    app_principal = "identity.principalId"
    for principal in (app_principal, DEPLOYER):
        granted = [a for a in storage if principal in a["properties"]["principalId"]]
        roles = sorted(a["properties"]["roleDefinitionId"].split("'")[3] for a in granted)
        assert roles == sorted([STORAGE_QUEUE_DATA_CONTRIBUTOR, STORAGE_BLOB_DATA_CONTRIBUTOR])
        assert {a["scope"] for a in granted} == {f"Microsoft.Storage/storageAccounts/{options.storage_account}"}
    assert {a["properties"].get("principalType") for a in storage} == {"ServicePrincipal", None}
    cosmos = by_type(template, "Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments")
    assert len(cosmos) == 2
    for assignment in cosmos:
        assert assignment["properties"]["roleDefinitionId"].endswith(f"'{COSMOS_DATA_CONTRIBUTOR}')]")
        assert assignment["properties"]["scope"].endswith(f"'/dbs/{database}')]"), "the database alone"
        uuid.UUID(assignment["name"].split("/")[1])
    for assignment in storage:
        uuid.UUID(assignment["name"])
    # Deterministic: deploying again changes no assignment.
    assert template == template_of(config, DEPLOYER)
    assert len(by_type(template_of(config), "Microsoft.Authorization/roleAssignments")) == 2


def test_the_accounts_names_fit_azures_rules_and_follow_the_subscription() -> None:
    config = subscription_config()
    options = CloudOptions.of(config)
    assert options is not None
    assert re.fullmatch(r"[a-z0-9]{3,24}", options.storage_account)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,42}[a-z0-9]", options.cosmos_account)
    assert options.resource_group == f"faaskeeper-{config.deployment_name}"
    other = CloudOptions.of(subscription_config())
    assert other is not None
    assert other.storage_account != options.storage_account
    assert CloudOptions.of(Config.deserialize(config.serialize())) == options


@pytest.fixture
def fake(azure_emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCloud]:
    """The ARM clients answered by a stand-in whose deployments answer the emulators' endpoints as the
    accounts' (the storage account reached with its key in place of an identity)."""
    environment = azure_emulators.environment()
    base = "http://127.0.0.1:{}/" + AZURITE_ACCOUNT
    stand_in = FakeCloud(
        subscription=SUBSCRIPTION,
        outputs={
            "cosmosEndpoint": {"type": "String", "value": environment["AZURE_COSMOS_ENDPOINT"]},
            "blobEndpoint": {"type": "String", "value": base.format(azure_emulators.azurite.blob_port)},
            "queueEndpoint": {"type": "String", "value": base.format(azure_emulators.azurite.queue_port)},
        },
    )
    monkeypatch.setattr(
        settings_module, "identity_credential", lambda: AzureNamedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY)
    )
    emulated = Emulated(azure_emulators)
    stand_in.realize, stand_in.forget = emulated.realize, emulated.forget
    with cloud.use(stand_in.apis(principal_id=DEPLOYER)):
        yield stand_in
    emulated.close()


class Emulated:
    """The template's databases, containers and queues made (and removed) on the emulators, as
    Azure makes them in the accounts."""

    def __init__(self, emulators: Emulators) -> None:
        connection = emulators.azurite.connection_string
        self.blobs = BlobServiceClient.from_connection_string(connection)
        self.queues = QueueServiceClient.from_connection_string(connection)
        environment = emulators.environment()
        self.cosmos = CosmosClient(
            environment["AZURE_COSMOS_ENDPOINT"],
            credential=environment["AZURE_COSMOS_KEY"],
            **emulator_trust("127.0.0.1"),
        )
        self.made: dict[str, list[str]] = {}

    def realize(self, resource: dict[str, Any]) -> None:
        kind, parts = resource["type"], resource["name"].split("/")
        if kind == "Microsoft.DocumentDB/databaseAccounts/sqlDatabases":
            self.cosmos.create_database_if_not_exists(parts[1])
            self.made.setdefault("Microsoft.DocumentDB/databaseAccounts", []).append(parts[1])
        elif kind == "Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers":
            [path] = resource["properties"]["resource"]["partitionKey"]["paths"]
            self.cosmos.get_database_client(parts[1]).create_container_if_not_exists(parts[2], PartitionKey(path))
        elif kind == "Microsoft.Storage/storageAccounts/blobServices/containers":
            self.blobs.create_container(parts[2])
            self.made.setdefault("Microsoft.Storage/storageAccounts", []).append(f"blob:{parts[2]}")
        elif kind == "Microsoft.Storage/storageAccounts/queueServices/queues":
            self.queues.create_queue(parts[2])
            self.made.setdefault("Microsoft.Storage/storageAccounts", []).append(f"queue:{parts[2]}")

    def forget(self, kind: str) -> None:
        for name in self.made.pop(kind, []):
            if kind == "Microsoft.DocumentDB/databaseAccounts":
                self.cosmos.delete_database(name)
            elif name.startswith("blob:"):
                self.blobs.delete_container(name[5:])
            else:
                self.queues.delete_queue(name[6:])

    def close(self) -> None:
        for kind in list(self.made):
            self.forget(kind)
        self.blobs.close()
        self.queues.close()
        settle_background_check(self.cosmos)
        self.cosmos.close()


def test_deploy_status_and_remove_in_a_resource_group_of_its_own(fake: FakeCloud) -> None:
    provider = get_provider("azure")
    config = subscription_config()
    options = CloudOptions.of(config)
    assert options is not None
    assert provider.status(config) == {"provider": "azure", "deployed": False, "deployment": config.deployment_name}
    deployed = provider.deploy(config)
    [(group, request)] = fake.called("create_resource_group")
    assert (group, request) == (
        options.resource_group,
        {"location": "westeurope", "tags": {"faaskeeper-deployment": config.deployment_name}},
    )
    [(group, name, request)] = fake.called("create_deployment")
    assert (group, name) == (options.resource_group, f"faaskeeper-{config.deployment_name}")
    assert request["properties"]["mode"] == "Incremental"
    assert request["properties"]["template"] == template_of(config, DEPLOYER)
    [(url, data)] = fake.published
    assert url == f"https://{options.function_app}.scm.azurewebsites.net/api/publish?RemoteBuild=true"
    assert data == build_package().data
    # The client config names the accounts the template made, and no key.
    section = deployed.provider_section
    assert section["cosmos-endpoint"] == fake.outputs["cosmosEndpoint"]["value"]
    assert "AccountKey" not in section["storage-connection-string"]
    assert section["subscription"] == SUBSCRIPTION

    shown = provider.status(deployed)
    assert (shown["deployed"], shown.get("nodes"), shown.get("sessions")) == (True, 1, 0)
    states = {(r["kind"], r["name"]): r["state"] for r in shown.get("resources", [])}
    assert states[("ARM deployment", f"{options.resource_group}/faaskeeper-{config.deployment_name}")] == "Succeeded"
    assert states[("Microsoft.Web/sites", options.function_app)] == "Succeeded"
    assert states[("Microsoft.DocumentDB/databaseAccounts", options.cosmos_account)] == "Succeeded"
    assert shown.get("details", {})["resource group"] == options.resource_group

    assert provider.deploy_functions(deployed) is True
    assert len(fake.published) == 2

    provider.remove(deployed)
    assert fake.called("delete_resource_group") == [options.resource_group]
    assert (fake.groups, fake.made, fake.deployments) == ({}, {}, {})
    provider.remove(deployed)  # nothing left to remove is no error


def test_remove_in_a_shared_resource_group_deletes_only_what_the_template_made(fake: FakeCloud) -> None:
    from azure.mgmt.resource.resources.models import ResourceGroup

    provider = get_provider("azure")
    config = subscription_config(**{"resource-group": "shared"})
    fake.groups["shared"] = ResourceGroup(location="westeurope", tags={"team": "x"})
    deployed = provider.deploy(config)
    assert fake.called("create_resource_group") == [], "an existing group is used as it is"
    made = set(fake.made)
    assert len(made) == 8  # two accounts, the plan, the app, four storage role assignments
    provider.remove(deployed)
    deleted = [resource for resource, _ in fake.called("delete_by_id")]
    assert "shared" in fake.groups
    assert fake.made == {}
    assert deleted[:2] == sorted(deleted[:2]) or len(deleted) >= 6
    assert all("/providers/Microsoft.Authorization/roleAssignments/" in r for r in deleted[:2])
    assert deleted[-1].endswith(f"/storageAccounts/{CloudOptions.of(config).storage_account}")  # type: ignore[union-attr]
    assert fake.called("delete_deployment") == [("shared", f"faaskeeper-{config.deployment_name}")]


def test_without_the_management_clients_the_deploy_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.mgmt.resource.deployments", None)
    with pytest.raises(ConfigurationException, match=r"pip install 'faaskeeper-azure\[deploy\]'"):
        cloud.connect(CloudOptions.of(subscription_config()))


def test_the_signed_in_principal_is_read_from_the_token() -> None:
    claims = base64.urlsafe_b64encode(json.dumps({"oid": DEPLOYER}).encode()).decode().rstrip("=")
    assert cloud._principal_id(f"header.{claims}.signature") == DEPLOYER
    assert cloud._principal_id("not-a-token") is None


def test_the_package_is_the_v2_app_and_imports_on_its_own(tmp_path: Path) -> None:
    package = build_package()
    assert package == build_package(), "the same code gives the same bytes"
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        names = archive.namelist()
        archive.extractall(tmp_path)
    assert {"function_app.py", "host.json", "requirements.txt"} <= set(names)
    assert "faaskeeper_azure/functions/handlers.py" in names
    assert "faaskeeper/protocol/sequencer.py" in names
    assert not [n for n in names if "/deploy/" in n or "/emulator/" in n or n.endswith("functions/host.py")]
    host = json.loads((tmp_path / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensions"]["queues"]["maxDequeueCount"] == MAX_DEQUEUE
    requirements = (tmp_path / "requirements.txt").read_text().split()
    assert any(r.startswith("azure-functions==") for r in requirements)
    assert any(r.startswith("azure-cosmos==") for r in requirements)
    assert any(r.startswith("azure-identity==") for r in requirements)
    # The Functions host imports function_app.py from the package's root: the packaged code alone
    # (first on the path) gives the app its four functions.
    probe = "import function_app, faaskeeper_azure; print(faaskeeper_azure.__file__); "
    probe += "print(sorted(f.get_function_name() for f in function_app.app.get_functions()))"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
    )
    where, functions = done.stdout.splitlines()
    assert where.startswith(str(tmp_path))
    assert functions == "['distributor', 'heartbeat', 'watch', 'writer']"


def test_status_of_a_config_not_yet_deployed_names_no_account(fake: FakeCloud, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AZURE_COSMOS_ENDPOINT", "AZURE_STORAGE_CONNECTION_STRING"):
        monkeypatch.delenv(variable)
    config = subscription_config()
    provider = get_provider("azure")
    assert provider.status(config) == {"provider": "azure", "deployed": False, "deployment": config.deployment_name}
    options = CloudOptions.of(config)
    assert options is not None
    # A deployment that failed half-way: its template's record and resources are shown.
    from azure.mgmt.resource.resources.models import ResourceGroup

    fake.groups[options.resource_group] = ResourceGroup(location="westeurope")
    fake.deployments[(options.resource_group, options.deployment_name)] = {"resources": []}
    shown = provider.status(config)
    assert shown["deployed"] is False
    assert [r["kind"] for r in shown.get("resources", [])] == ["ARM deployment"]
