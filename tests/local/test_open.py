"""Only deploy creates a local deployment: opening one that does not exist fails and creates nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import DeploymentNotFoundException
from faaskeeper_local.provider import LocalProvider


def _undeployed(directory: Path) -> Config:
    return Config.deserialize({"cloud-provider": "local", "deployment-name": "typo", "local": {"path": str(directory)}})


def test_opening_an_undeployed_deployment_fails_naming_the_file_and_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(DeploymentNotFoundException) as raised:
        LocalProvider().open(_undeployed(tmp_path / "data"))
    database = tmp_path / "data" / "typo" / "faaskeeper.sqlite3"
    assert str(raised.value) == (
        f"No local deployment 'typo': {database} does not exist; create it with `fk deploy service --config CONFIG`"
    )
    assert not (tmp_path / "data").exists()


def test_a_client_of_an_undeployed_config_file_names_that_file(tmp_path: Path) -> None:
    path = tmp_path / "fk.json"
    path.write_text(json.dumps(_undeployed(tmp_path / "data").serialize()))
    client = FaaSKeeperClient(Config.from_file(path), timeout=5)
    with pytest.raises(DeploymentNotFoundException, match=rf"`fk deploy service --config {path}`$"):
        client.start()
    assert client.session_id is None
    assert not (tmp_path / "data").exists()


def test_deploy_creates_it_and_then_it_opens(tmp_path: Path) -> None:
    config = LocalProvider().deploy(_undeployed(tmp_path / "data"))
    client = FaaSKeeperClient(config, timeout=10)
    client.start()
    try:
        assert client.get_children("/") == []
    finally:
        client.stop()
    LocalProvider().remove(config)
    with pytest.raises(DeploymentNotFoundException):
        LocalProvider().open(config)
