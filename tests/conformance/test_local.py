"""The conformance suite against the embedded local provider (SQLite)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from faaskeeper.api.provider import Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ConformanceFixtures, ConformanceSuite, on_expiry_config

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


class TestSessionTimeoutsOfEachTest(ConformanceFixtures):
    """A test that waits for sessions to time out runs on the short timeouts, every other one on
    the long ones, each on one deployment."""

    @on_expiry_config
    def test_a_test_waiting_for_a_session_timeout_runs_on_fk_expiry_config(
        self, request: pytest.FixtureRequest, fk_checked_config: Config
    ) -> None:
        assert fk_checked_config.session_timeout == EXPIRY_TIMING["session-timeout"]
        assert "fk_config" not in request.fixturenames

    def test_every_other_test_runs_on_fk_config(
        self, request: pytest.FixtureRequest, fk_checked_config: Config
    ) -> None:
        assert fk_checked_config.session_timeout == TIMING["session-timeout"]
        assert "fk_expiry_config" not in request.fixturenames
