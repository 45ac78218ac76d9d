"""Deploying to the emulators creates every resource for real, fk status shows them, removing
leaves nothing behind; and what a user sees when the function host is not running."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper_azure.deployment import AzureDeployment
from faaskeeper_azure.emulator.__main__ import main
from faaskeeper_azure.emulator.servers import Emulators

#: The emulator's certificate is made at its start; clients on 127.0.0.1 do not verify it.
pytestmark = pytest.mark.filterwarnings("ignore:Unverified HTTPS request")


def _config(emulators: Emulators, user_storage: str) -> Config:
    return Config.deserialize(
        {
            "cloud-provider": "azure",
            "deployment-name": f"d{uuid.uuid4().hex[:10]}",
            "user-storage": user_storage,
            "azure": emulators.config_section(),
        }
    )


@pytest.mark.parametrize("user_storage", ["persistent", "key-value"])
def test_deploy_status_and_remove_leave_nothing_behind(azure_emulators: Emulators, user_storage: str) -> None:
    provider = get_provider("azure")
    config = provider.deploy(_config(azure_emulators, user_storage), clean=True)
    status = provider.status(config)
    assert status["deployed"] is True
    resources = status.get("resources", [])
    assert {r["kind"] for r in resources} == {
        "Cosmos DB database",
        "Cosmos DB container",
        "blob container",
        "Storage Queue",
    }
    assert all(r["state"] != "missing" for r in resources), resources
    name = config.deployment_name
    assert f"fk-{name}-writer-poison" in {r["name"] for r in resources}
    assert ("nodes" in {r["name"] for r in resources}) is (user_storage == "key-value")
    assert (f"fk-{name}-nodes" in {r["name"] for r in resources}) is (user_storage == "persistent")
    assert status.get("sessions") == 0
    assert [(q["name"], q["waiting"], q["dead_letters"]) for q in status.get("queues", [])] == [
        (f"fk-{name}-writer", 0, 0),
        (f"fk-{name}-distributor", 0, 0),
    ]
    provider.remove(config)
    gone = provider.status(config)
    assert gone["deployed"] is False
    assert "resources" not in gone, gone.get("resources")
    provider.remove(config)  # removing what is gone is no error


def test_a_stalled_write_says_to_start_the_function_host(azure_emulators: Emulators) -> None:
    provider = get_provider("azure")
    config = provider.deploy(_config(azure_emulators, "persistent"), clean=True)
    try:
        deployment = provider.open(config)
        assert isinstance(deployment, AzureDeployment)
        try:
            assert deployment.diagnose_stalled_write() is None
            deployment.writer_queue.send(b'{"op": "create"}', "session", "session:1")
            hint = deployment.diagnose_stalled_write()
            assert hint is not None
            assert "python -m faaskeeper_azure.emulator CONFIG" in hint
            assert f"fk-{config.deployment_name}-writer" in hint
        finally:
            deployment.close()
    finally:
        provider.remove(config)


def test_the_emulator_host_refuses_a_config_it_cannot_serve_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"cloud-provider": "azure", "deployment-name": "dev", "azure": {}}))
    assert main([str(path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("faaskeeper_azure.emulator: error:")
    assert "storage-connection-string" in error
    assert len(error.splitlines()) == 1
