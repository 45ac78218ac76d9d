"""The conformance suite against the embedded local provider (SQLite)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ConformanceSuite

from .timing import EXPIRY_TIMING, TIMING


@pytest.fixture
def provider() -> Provider:
    return get_provider("local")


def local_config(name: str, directory: Path, timing: Mapping[str, float]) -> dict[str, object]:
    return {
        "cloud-provider": "local",
        "deployment-name": name,
        **timing,
        "local": {"path": str(directory), "lock-max-hold": 1, "visibility-timeout": 1},
    }


@pytest.fixture
def fk_config(provider, deploy, deployment_name: str, tmp_path: Path) -> Config:
    return deploy(provider, local_config(deployment_name, tmp_path, TIMING))


@pytest.fixture
def fk_expiry_config(provider, deploy, deployment_name: str, tmp_path: Path) -> Config:
    return deploy(provider, local_config(deployment_name, tmp_path, EXPIRY_TIMING))


class TestLocalProvider(ConformanceSuite):
    pass
