"""The ``"azure"`` config section: what it holds, its defaults, and the keys and values it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.plugins.manager import get_provider
from faaskeeper_azure.names import ENV_COSMOS_ENDPOINT, ENV_COSMOS_KEY, ENV_STORAGE_CONNECTION_STRING, ResourceNames
from faaskeeper_azure.provider import AzureProvider
from faaskeeper_azure.settings import COSMOS_MAX_DATA_SIZE, AzureSettings

AZURITE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
)


def _config(section: dict[str, Any] | None = None, **top: Any) -> Config:
    return Config.deserialize({"cloud-provider": "azure", "deployment-name": "dev", "azure": section or {}, **top})


@pytest.fixture(autouse=True)
def _no_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ENV_COSMOS_ENDPOINT, ENV_COSMOS_KEY, ENV_STORAGE_CONNECTION_STRING):
        monkeypatch.delenv(name, raising=False)


def test_the_provider_is_found_through_its_entry_point() -> None:
    assert isinstance(get_provider("azure"), AzureProvider)


def test_defaults_derive_from_the_deployment_name() -> None:
    settings = AzureSettings.from_config(_config())
    assert settings.database == "faaskeeper-dev"
    assert settings.lock_max_hold == 5.0
    assert settings.cosmos_endpoint is None
    assert settings.names.blob_container == "fk-dev-nodes"
    assert settings.names.queue("writer") == "fk-dev-writer"
    assert settings.names.poison_queue("distributor") == "fk-dev-distributor-poison"


def test_the_section_is_read() -> None:
    settings = AzureSettings.from_config(
        _config(
            {
                "cosmos-endpoint": "https://127.0.0.1:8081",
                "cosmos-key": "key",
                "storage-connection-string": AZURITE,
                "database": "mine",
                "lock-max-hold": 2,
            }
        )
    )
    assert settings.cosmos_endpoint == "https://127.0.0.1:8081"
    assert (settings.cosmos_key, settings.database) == ("key", "mine")
    assert settings.storage_connection_string == AZURITE
    assert settings.lock_max_hold == 2.0


def test_variables_stand_in_for_missing_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_COSMOS_ENDPOINT, "https://127.0.0.1:1234")
    monkeypatch.setenv(ENV_COSMOS_KEY, "k")
    monkeypatch.setenv(ENV_STORAGE_CONNECTION_STRING, AZURITE)
    settings = AzureSettings.from_config(_config({"cosmos-key": "given"}))
    assert (settings.cosmos_endpoint, settings.cosmos_key) == ("https://127.0.0.1:1234", "given")
    assert settings.storage_connection_string == AZURITE


@pytest.mark.parametrize(
    ("section", "named"),
    [
        ({"cosmos-endpont": "https://x"}, "azure.cosmos-endpont"),
        ({"cosmos-endpoint": "ftp://x"}, "azure.cosmos-endpoint"),
        ({"cosmos-endpoint": 3}, "azure.cosmos-endpoint"),
        ({"cosmos-key": ""}, "azure.cosmos-key"),
        ({"storage-connection-string": "nothing"}, "azure.storage-connection-string"),
        ({"database": "a/b"}, "azure.database"),
        ({"lock-max-hold": 0}, "azure.lock-max-hold"),
        ({"lock-max-hold": "5"}, "azure.lock-max-hold"),
        ({"lock-max-hold": float("nan")}, "azure.lock-max-hold"),
    ],
)
def test_bad_keys_and_values_are_refused_naming_the_key(section: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationException, match=named.replace(".", r"\.")):
        AzureSettings.from_config(_config(section))


def test_an_unknown_key_is_refused_with_the_key_it_resembles() -> None:
    with pytest.raises(ConfigurationException, match="did you mean 'cosmos-key'"):
        AzureSettings.from_config(_config({"cosmos-kye": "k"}))


@pytest.mark.parametrize("name", ["Dev", "a--b", "dev_1", "x" * 41])
def test_deployment_names_that_cannot_name_queues_are_refused(name: str) -> None:
    with pytest.raises(ConfigurationException, match="deployment-name"):
        ResourceNames(name)


def test_hybrid_user_storage_is_refused_naming_the_valid_ones() -> None:
    with pytest.raises(ConfigurationException, match=r'"persistent" .* or "key-value" .* got "hybrid"'):
        AzureSettings.from_config(
            Config.deserialize({"cloud-provider": "azure", "deployment-name": "dev", "user-storage": "hybrid"})
        )


def test_the_data_limit_is_what_a_cosmos_item_holds() -> None:
    assert get_provider("azure").max_data_size(_config()) == COSMOS_MAX_DATA_SIZE
    assert AzureSettings.from_config(_config(None, **{"max-data-size": 1000})).max_data_size == 1000
    with pytest.raises(ConfigurationException, match="max-data-size"):
        AzureSettings.from_config(_config(None, **{"max-data-size": COSMOS_MAX_DATA_SIZE + 1}))


def test_a_missing_endpoint_is_named_when_a_client_is_needed() -> None:
    settings = AzureSettings.from_config(_config())
    with pytest.raises(ConfigurationException, match=r"azure\.cosmos-endpoint.*AZURE_COSMOS_ENDPOINT"):
        settings.cosmos()
    with pytest.raises(ConfigurationException, match=r"azure\.storage-connection-string"):
        settings.blob_service()
