"""A client cannot raise a local deployment's node data limit: ``fk deploy`` stores it with the
deployment, the writer enforces it (the functions run in the client's process, under the
client's config), and the client's own check, from the deployment's limit, is the early error."""

from __future__ import annotations

from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import MalformedInputException
from faaskeeper_local.provider import LocalProvider

from .conftest import local_config

MIB = 1024 * 1024


def _client_config(deployed: Config, max_data_size: int) -> Config:
    return Config.deserialize({**deployed.serialize(), "max-data-size": max_data_size})


def test_a_client_configured_for_64_mib_gets_the_error_of_a_1_mib_deployment(tmp_path: Path) -> None:
    deployed = local_config(tmp_path, **{"max-data-size": MIB})
    with FaaSKeeperClient(_client_config(deployed, 64 * MIB), timeout=30) as client:
        with pytest.raises(MalformedInputException, match=f"of {20 * MIB} bytes exceeds the limit of {MIB} bytes"):
            client.create("/big", bytes(20 * MIB))
        assert client.exists("/big") is None
        assert client.create("/fits", bytes(MIB)).stat.data_length == MIB


def test_the_writer_refuses_data_over_the_deployments_limit_from_a_client_that_skips_its_check(tmp_path: Path) -> None:
    deployed = local_config(tmp_path, **{"max-data-size": MIB})
    with FaaSKeeperClient(_client_config(deployed, 64 * MIB), timeout=30) as client:
        client._max_data_size = 64 * MIB  # a client of another version, or one patched to skip the check
        refused = f"Node data of {2 * MIB} bytes exceeds the deployment's limit of {MIB} bytes"
        with pytest.raises(MalformedInputException, match=refused):
            client.create("/big", bytes(2 * MIB))
        assert client.exists("/big") is None, "the session goes on, and nothing was stored"
        client.create("/small", b"fits")


def test_fk_deploy_stores_the_limit_and_a_later_deploy_changes_it(tmp_path: Path) -> None:
    small = local_config(tmp_path, **{"max-data-size": 1000})
    assert LocalProvider().status(small)["details"]["max-data-size"] == "1000 bytes"
    client = FaaSKeeperClient(_client_config(small, MIB), timeout=30)
    with client, pytest.raises(MalformedInputException, match="exceeds the limit of 1000 bytes"):
        client.create("/n", bytes(2000))
    larger = LocalProvider().deploy(_client_config(small, 5000))
    with FaaSKeeperClient(_client_config(larger, 1000), timeout=30) as client:
        assert client.create("/n", bytes(2000)).stat.data_length == 2000
