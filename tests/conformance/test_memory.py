"""The conformance suite against the third-party memory provider in tests/plugins/faaskeeper-memory.

The provider is reached only through its ``faaskeeper.providers`` entry point, as any third-party
plugin would be; these tests fail (not skip) when it is not installed.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.exceptions import UnknownProviderException
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ConformanceSuite, WatchSuite

from .timing import EXPIRY_TIMING, TIMING

INSTALL_HINT = "install it with: .venv/bin/pip install -e tests/plugins/faaskeeper-memory"


@pytest.fixture
def provider() -> Provider:
    try:
        return get_provider("memory")
    except UnknownProviderException as err:
        pytest.fail(f"the memory test provider is not installed; {INSTALL_HINT}\n({err})", pytrace=False)


def memory_config(name: str, timing: Mapping[str, float] = TIMING) -> dict[str, object]:
    return {
        "cloud-provider": "memory",
        "deployment-name": name,
        **timing,
        "memory": {"lock-max-hold": 1, "visibility-timeout": 1},
    }


@pytest.fixture
def fk_config(provider, deploy, deployment_name: str) -> Config:
    return deploy(provider, memory_config(deployment_name))


@pytest.fixture
def fk_expiry_config(provider, deploy, deployment_name: str) -> Config:
    return deploy(provider, memory_config(deployment_name, EXPIRY_TIMING))


class TestMemoryProvider(ConformanceSuite):
    pass


class TestMemoryWatchFunction(WatchSuite):
    """The watch suite with ``watch-fanout`` 0: the watch function delivers every notification."""

    @pytest.fixture
    def fk_config(self, provider, deploy, deployment_name: str) -> Config:
        return deploy(provider, {**memory_config(deployment_name), "watch-fanout": 0})
