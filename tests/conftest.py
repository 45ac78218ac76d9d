"""Fixtures shared across test directories, registered once for the whole run.

The conformance runs of every provider live in ``tests/conformance`` beside each provider's own
tests, and both need the provider's emulated cloud. Its fixtures are plugins here, not conftests
of one directory, so a session-scoped server (the moto server, the GCP and Azure emulators) starts once per
run whichever directories use it. A provider that is not installed has no fixtures to offer.
"""

from __future__ import annotations

from importlib.util import find_spec

pytest_plugins = [
    "faaskeeper.testing.pytest_plugin",
    # kazoo's test harness on FaaSKeeper, for kazoo's recipe tests in tests/kazoo.
    *(["faaskeeper.kazoo.testing"] if find_spec("kazoo") is not None else []),
    *(f"tests.{cloud}.fixtures" for cloud in ("aws", "gcp", "azure") if find_spec(f"faaskeeper_{cloud}") is not None),
]
