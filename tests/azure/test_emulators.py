"""The emulators as the provider relies on them: the Cosmos DB launcher's fixes of the server's
departures from Cosmos DB (each of these tests fails against the unpatched server), and Azurite
reachable through the connection string the servers module prints."""

from __future__ import annotations

import logging
import time
import uuid
import warnings
from collections.abc import Iterator

import certifi
import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ServiceRequestError
from azure.cosmos import ContainerProxy, CosmosClient, PartitionKey, SSLConfiguration, exceptions
from azure.storage.blob import BlobServiceClient
from urllib3.exceptions import InsecureRequestWarning

from faaskeeper.config import Config
from faaskeeper_azure.emulator.servers import COSMOS_CERTIFICATE, EMULATOR_DIR, Emulators, installed, main
from faaskeeper_azure.settings import AzureSettings, emulator_trust


@pytest.fixture
def container(azure_emulators: Emulators) -> Iterator[ContainerProxy]:
    client = CosmosClient(
        azure_emulators.cosmos.endpoint, credential=azure_emulators.cosmos.key, **emulator_trust("127.0.0.1")
    )
    database = client.create_database(f"emulator-{uuid.uuid4().hex[:8]}")
    yield database.create_container("items", PartitionKey("/pk"))
    client.delete_database(database.id)
    client.close()


def _ids(container: ContainerProxy, partition: str) -> list[str]:
    query = "SELECT c.id FROM c WHERE c.pk = @pk"
    found = container.query_items(query, parameters=[{"name": "@pk", "value": partition}], partition_key=partition)
    return sorted(item["id"] for item in found)


def test_reading_a_missing_item_answers_404(container: ContainerProxy) -> None:
    container.create_item({"id": "here", "pk": "p"})
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("absent", partition_key="p")
    with pytest.raises(exceptions.CosmosResourceNotFoundError):
        container.read_item("here", partition_key="another")
    assert container.read_item("here", partition_key="p")["id"] == "here"


def test_a_batch_takes_its_partition_key_from_the_request(container: ContainerProxy) -> None:
    first = container.create_item({"id": "a", "pk": "p", "v": 1})
    results = container.execute_item_batch(
        [
            ("create", ({"id": "b", "pk": "p"},)),
            ("replace", ("a", {"id": "a", "pk": "p", "v": 2}), {"if_match_etag": first["_etag"]}),
            ("delete", ("b",)),
            ("read", ("a",)),
        ],
        partition_key="p",
    )
    assert [r["statusCode"] for r in results] == [201, 200, 204, 200]
    assert results[3]["resourceBody"]["v"] == 2
    assert _ids(container, "p") == ["a"]


def test_a_batch_that_fails_applies_nothing(container: ContainerProxy) -> None:
    first = container.create_item({"id": "a", "pk": "p", "v": 1})
    container.replace_item("a", {"id": "a", "pk": "p", "v": 2})
    with pytest.raises(exceptions.CosmosBatchOperationError) as failed:
        container.execute_item_batch(
            [
                ("create", ({"id": "b", "pk": "p"},)),
                ("upsert", ({"id": "c", "pk": "p"},)),
                ("replace", ("a", {"id": "a", "pk": "p", "v": 3}), {"if_match_etag": first["_etag"]}),
                ("create", ({"id": "d", "pk": "p"},)),
            ],
            partition_key="p",
        )
    assert (failed.value.status_code, failed.value.error_index) == (412, 2)
    assert [r["statusCode"] for r in failed.value.operation_responses] == [424, 424, 412, 424]
    assert _ids(container, "p") == ["a"]
    assert container.read_item("a", partition_key="p")["v"] == 2
    # What the batch undid is gone for good: the ids it created can be created again.
    container.create_item({"id": "b", "pk": "p"})
    assert _ids(container, "p") == ["a", "b"]


def test_conditional_writes_compare_etags(container: ContainerProxy) -> None:
    first = container.create_item({"id": "a", "pk": "p"})
    with pytest.raises(exceptions.CosmosResourceExistsError):
        container.create_item({"id": "a", "pk": "p"})
    second = container.replace_item("a", {"id": "a", "pk": "p", "v": 1})
    with pytest.raises(exceptions.CosmosAccessConditionFailedError):
        container.replace_item(
            "a", {"id": "a", "pk": "p"}, etag=first["_etag"], match_condition=MatchConditions.IfNotModified
        )
    container.delete_item("a", partition_key="p", etag=second["_etag"], match_condition=MatchConditions.IfNotModified)


def test_azurite_serves_blobs_through_the_printed_connection_string(azure_emulators: Emulators) -> None:
    service = BlobServiceClient.from_connection_string(azure_emulators.azurite.connection_string)
    blobs = service.create_container(f"emulator-{uuid.uuid4().hex[:8]}")
    blobs.upload_blob("x", b"data")
    assert blobs.download_blob("x").readall() == b"data"
    blobs.delete_container()


def test_the_npm_packages_are_installed_from_the_lockfile(azure_emulators: Emulators) -> None:
    assert installed(EMULATOR_DIR)
    assert (EMULATOR_DIR / "node_modules" / "azurite" / "package.json").is_file()


def test_without_node_the_servers_say_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert main(["--logs", "/nonexistent/logs"]) == 1
    assert "node is not on the PATH" in capsys.readouterr().err


def test_clients_verify_the_emulator_against_the_certificate_its_launcher_keeps(azure_emulators: Emulators) -> None:
    config = Config.deserialize(
        {"cloud-provider": "azure", "deployment-name": "tls", "azure": azure_emulators.config_section()}
    )
    settings = AzureSettings.from_config(config)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", InsecureRequestWarning)
            assert isinstance(list(settings.cosmos().list_databases()), list), "verified, no warning"
    finally:
        settings.close()
    assert COSMOS_CERTIFICATE.is_file()
    others = SSLConfiguration()
    others.SSLCaCerts = certifi.where()  # the public authorities only
    with pytest.raises(ServiceRequestError, match="CERTIFICATE_VERIFY_FAILED"):
        CosmosClient(
            azure_emulators.cosmos.endpoint, credential=azure_emulators.cosmos.key, ssl_config=others, retry_total=0
        )


def test_a_client_closed_at_once_leaves_no_background_check_failing(
    azure_emulators: Emulators, caplog: pytest.LogCaptureFixture
) -> None:
    """The SDK checks the account's endpoints in a thread of its own as a client starts; a client
    closed under it (a short ``fk shell -c``) must not have that check fail with an error."""
    config = Config.deserialize(
        {"cloud-provider": "azure", "deployment-name": "closing", "azure": azure_emulators.config_section()}
    )
    for _attempt in range(5):
        settings = AzureSettings.from_config(config)
        with caplog.at_level(logging.ERROR, logger="azure.cosmos"):
            settings.cosmos()
            settings.close()
            time.sleep(0.3)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("azure.cosmos")] == []
