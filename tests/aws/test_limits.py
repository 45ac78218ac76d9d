"""Node data limits follow what the user storage can hold."""

from __future__ import annotations

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.plugins.manager import get_provider
from faaskeeper_aws.settings import KEY_VALUE_MAX_DATA_SIZE


def config(**keys: object) -> Config:
    return Config.deserialize(
        {"cloud-provider": "aws", "deployment-name": "limits", "deployment-region": "us-east-1", **keys}
    )


def test_s3_storage_keeps_zookeepers_limit():
    assert get_provider("aws").max_data_size(config()) == 1024 * 1024


def test_key_value_storage_caps_the_default_limit():
    assert get_provider("aws").max_data_size(config(**{"user-storage": "key-value"})) == KEY_VALUE_MAX_DATA_SIZE


def test_key_value_storage_refuses_a_larger_explicit_limit():
    with pytest.raises(ConfigurationException, match="'max-data-size' must be at most 380000"):
        get_provider("aws").validate_config(config(**{"user-storage": "key-value", "max-data-size": 500_000}))


def test_key_value_storage_takes_a_smaller_explicit_limit():
    limited = config(**{"user-storage": "key-value", "max-data-size": 1000})
    assert get_provider("aws").max_data_size(limited) == 1000
