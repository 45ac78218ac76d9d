"""The suite itself: every test reachable from ConformanceSuite, and skipped only by capability."""

from __future__ import annotations

import collections
import inspect

import faaskeeper.testing as suite
from faaskeeper.api.provider import Capability
from faaskeeper.testing import ConformanceSuite, required_capabilities

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
