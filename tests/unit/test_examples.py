"""The example configs the README deploys are valid configs of installed providers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.json"))


def test_there_are_examples_for_every_cloud() -> None:
    assert {path.stem for path in EXAMPLES} >= {"local", "aws", "gcp"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_an_example_config_loads_for_its_provider(path: Path) -> None:
    config = Config.deserialize(json.loads(path.read_text()))
    assert config.cloud_provider == path.stem
    assert get_provider(config.cloud_provider) is not None
