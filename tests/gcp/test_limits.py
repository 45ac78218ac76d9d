"""The node data limit the functions were deployed with holds whatever a client's config says."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import MalformedInputException
from faaskeeper.plugins.manager import get_provider
from faaskeeper_gcp.functions.host import FunctionServer

from .fixtures import gcp_config


def test_a_client_config_cannot_raise_the_limit_the_functions_were_deployed_with(
    gcp: None, serve: Callable[..., FunctionServer]
) -> None:
    provider = get_provider("gcp")
    deployed = provider.deploy(Config.deserialize({**gcp_config().serialize(), "max-data-size": 1000}), clean=True)
    try:
        serve(deployed, schedule=False)  # the functions, with the deployed config as their FK_CONFIG
        hungry = Config.deserialize({**deployed.serialize(), "max-data-size": 200_000})
        with FaaSKeeperClient(hungry, timeout=30) as client:
            refused = "Node data of 5000 bytes exceeds the deployment's limit of 1000 bytes"
            with pytest.raises(MalformedInputException, match=refused):
                client.create("/big", bytes(5000))
            assert client.exists("/big") is None
            assert client.create("/small", bytes(1000)).stat.data_length == 1000
    finally:
        provider.remove(deployed)
