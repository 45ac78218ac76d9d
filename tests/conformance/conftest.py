"""What the conformance runs in this directory share: a fresh deployment per test.

Each test module supplies its own ``provider`` and ``fk_config`` fixtures (the suite's two inputs)
because several providers run here side by side; a provider in its own repository would put them
in its conftest.py instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config

Deploy = Callable[[Provider, dict[str, object]], Config]


@pytest.fixture
def deployment_name() -> str:
    return f"conformance-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def deploy() -> Iterator[Deploy]:
    """``deploy(provider, config_dict)``: a clean deployment of that config, removed after the test."""
    deployed: list[tuple[Provider, Config]] = []

    def run(provider: Provider, data: dict[str, object]) -> Config:
        config = provider.deploy(Config.deserialize(data), clean=True)
        deployed.append((provider, config))
        return config

    yield run
    for provider, config in deployed:
        provider.remove(config)
