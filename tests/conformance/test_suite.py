"""The suite itself: every test reachable from ConformanceSuite, and skipped only by capability."""

from __future__ import annotations

import collections
import inspect
from pathlib import Path

import pytest

import faaskeeper.testing as suite
from faaskeeper.api.provider import Capability, Provider
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing import ConformanceFixtures, ConformanceSuite, on_expiry_config, required_capabilities

SUITES = [getattr(suite, name) for name in suite.__all__ if name.endswith("Suite") and name != "ConformanceSuite"]


def test_conformance_suite_combines_every_suite() -> None:
    assert set(SUITES) <= set(ConformanceSuite.__mro__)


def test_no_suite_shadows_another() -> None:
    owners = collections.defaultdict(list)
    for cls in SUITES:
        for name in vars(cls):
            if not name.startswith("__"):
                owners[name].append(cls.__name__)
    assert {name: found for name, found in owners.items() if len(found) > 1} == {}


def test_suites_are_not_collected_on_their_own() -> None:
    assert all(not cls.__name__.startswith("Test") for cls in SUITES)


def test_polling_suites_require_polling_queues() -> None:
    for cls in (suite.PollingQueueSuite, suite.FaultSuite):
        tests = [f for name, f in inspect.getmembers(cls, inspect.isfunction) if name.startswith("test_")]
        assert tests
        assert all(Capability.POLLING_QUEUES in required_capabilities(f) for f in tests), cls.__name__


class TestWithoutAnExpiryConfig(ConformanceFixtures):
    """A provider's tests that define no ``fk_expiry_config`` run every test on ``fk_config``."""

    @pytest.fixture
    def provider(self) -> Provider:
        return get_provider("local")

    @pytest.fixture
    def fk_config(self, provider: Provider, tmp_path: Path) -> Config:
        section = {"path": str(tmp_path)}
        return provider.deploy(
            Config.deserialize({"cloud-provider": "local", "deployment-name": "only", "local": section})
        )

    @on_expiry_config
    def test_a_test_waiting_for_a_session_timeout_runs_on_fk_config(
        self, fk_config: Config, fk_checked_config: Config
    ) -> None:
        assert fk_checked_config is fk_config
