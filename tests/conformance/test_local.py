"""The conformance suite against the embedded local provider (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ConformanceSuite


@pytest.fixture
def provider() -> Provider:
    return get_provider("local")


@pytest.fixture
def fk_config(provider, deploy, deployment_name: str, tmp_path: Path) -> Config:
    return deploy(
        provider,
        {
            "cloud-provider": "local",
            "deployment-name": deployment_name,
            "heartbeat-frequency": 0.2,
            "session-timeout": 0.6,
            "local": {"path": str(tmp_path), "lock-max-hold": 1, "visibility-timeout": 1},
        },
    )


class TestLocalProvider(ConformanceSuite):
    client_timeout = 5.0
