"""Providers are found through their entry points; an unknown name lists the installed ones."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from faaskeeper.exceptions import UnknownProviderException
from faaskeeper.plugins.manager import ENTRY_POINT_GROUP, ProviderRegistry, get_provider

MEMORY_HINT = "install it with: .venv/bin/pip install -e tests/plugins/faaskeeper-memory"
#: Every installed provider plugin: local and memory always, aws once providers/aws is installed.
INSTALLED = sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def test_unknown_provider_lists_installed_ones() -> None:
    with pytest.raises(UnknownProviderException) as raised:
        get_provider("no-such-cloud")
    message = str(raised.value)
    assert "'no-such-cloud'" in message
    assert {"local", "memory"} <= set(INSTALLED), MEMORY_HINT
    assert f"installed providers: {', '.join(INSTALLED)}" in message
    assert "pip install faaskeeper-no-such-cloud" in message
    assert ENTRY_POINT_GROUP in message


def test_fresh_registry_discovers_providers_by_entry_point() -> None:
    registry = ProviderRegistry()
    assert registry.names() == INSTALLED
    assert {"local", "memory"} <= set(INSTALLED), MEMORY_HINT
    assert registry.sources["local"] == "faaskeeper"
    assert registry.sources["memory"] == "faaskeeper-memory"


def test_memory_provider_is_only_an_entry_point() -> None:
    registered = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert registered.get("memory") == "faaskeeper_memory.plugin", MEMORY_HINT
    provider = get_provider("memory")
    assert provider.name == "memory"
    assert type(provider).__module__ == "faaskeeper_memory.provider"


def test_registry_without_autoload_knows_nothing() -> None:
    registry = ProviderRegistry(autoload=False)
    assert registry.names() == []
    with pytest.raises(UnknownProviderException, match="installed providers: none"):
        registry.get("local")
