"""Node data limits follow what the user storage can hold, and what the functions were deployed with."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException, MalformedInputException
from faaskeeper.plugins.manager import get_provider
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.settings import KEY_VALUE_MAX_DATA_SIZE

from . import stackless as made
from .moto import MotoServer


def config(**keys: object) -> Config:
    return Config.deserialize(
        {"cloud-provider": "aws", "deployment-name": "limits", "deployment-region": "us-east-1", **keys}
    )


def test_s3_storage_keeps_zookeepers_limit():
    assert get_provider("aws").max_data_size(config()) == 1024 * 1024


def test_hybrid_storage_keeps_zookeepers_limit():
    """Nodes too large for an item go to S3, so hybrid storage takes what S3 storage takes."""
    assert get_provider("aws").max_data_size(config(**{"user-storage": "hybrid"})) == 1024 * 1024


def test_an_unknown_user_storage_is_refused_naming_the_valid_ones():
    with pytest.raises(ConfigurationException, match=re.escape("one of persistent | key-value | hybrid")):
        config(**{"user-storage": "mixed"})


def test_key_value_storage_caps_the_default_limit():
    assert get_provider("aws").max_data_size(config(**{"user-storage": "key-value"})) == KEY_VALUE_MAX_DATA_SIZE


def test_key_value_storage_refuses_a_larger_explicit_limit():
    with pytest.raises(ConfigurationException, match="'max-data-size' must be at most 380000"):
        get_provider("aws").validate_config(config(**{"user-storage": "key-value", "max-data-size": 500_000}))


def test_key_value_storage_takes_a_smaller_explicit_limit():
    limited = config(**{"user-storage": "key-value", "max-data-size": 1000})
    assert get_provider("aws").max_data_size(limited) == 1000


def test_a_client_config_cannot_raise_the_limit_the_functions_were_deployed_with(
    moto_server: MotoServer, emulate: Callable[..., LambdaEmulator]
) -> None:
    deployed = Config.deserialize({**made.config(heartbeat=60, session_timeout=180).serialize(), "max-data-size": 1000})
    made.create(deployed)
    emulate(deployed)  # the functions, with the deployed config as their FK_CONFIG
    hungry = Config.deserialize({**deployed.serialize(), "max-data-size": 200_000})
    with FaaSKeeperClient(hungry, timeout=30) as client:
        refused = "Node data of 5000 bytes exceeds the deployment's limit of 1000 bytes"
        with pytest.raises(MalformedInputException, match=refused):
            client.create("/big", bytes(5000))
        assert client.exists("/big") is None
        assert client.create("/small", bytes(1000)).stat.data_length == 1000
