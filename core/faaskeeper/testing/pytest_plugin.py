"""The pytest fixtures a provider's conformance run builds its ``fk_config`` from.

Enable them in the ``conftest.py`` at the top of your tests (pytest reads ``pytest_plugins`` only
there):

.. code-block:: python

    pytest_plugins = ["faaskeeper.testing.pytest_plugin"]

* ``deployment_name``: a deployment name of its own for each test.
* ``deploy``: ``deploy(provider, config_dict)`` deploys the config (``clean=True``) and returns the
  :class:`~faaskeeper.config.Config` that clients load; each deployment is removed after the test.

Nothing is registered unless a project asks for it this way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config

#: ``deploy(provider, config_dict)``: the config of a fresh deployment, removed after the test.
Deploy = Callable[[Provider, Mapping[str, object]], Config]


@pytest.fixture
def deployment_name() -> str:
    return f"conformance-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def deploy() -> Iterator[Deploy]:
    """``deploy(provider, config_dict)``: a clean deployment of that config, removed after the test."""
    deployed: list[tuple[Provider, Config]] = []

    def run(provider: Provider, data: Mapping[str, object]) -> Config:
        config = provider.deploy(Config.deserialize(dict(data)), clean=True)
        deployed.append((provider, config))
        return config

    yield run
    for provider, config in deployed:
        provider.remove(config)
