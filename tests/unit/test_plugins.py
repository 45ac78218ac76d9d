from __future__ import annotations

from dataclasses import dataclass

import pytest

import faaskeeper.plugins.manager as manager
from faaskeeper.exceptions import UnknownProviderException
from faaskeeper.plugins.manager import ProviderRegistry


@dataclass
class FakeEntryPoint:
    name: str
    target: object
    dist: None = None

    def load(self) -> object:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_a_plugin_that_fails_to_import_does_not_hide_the_others(monkeypatch):
    import faaskeeper_local.plugin as local_plugin

    points = [
        FakeEntryPoint("broken", ModuleNotFoundError("No module named 'boto3'")),
        FakeEntryPoint("local", local_plugin),
    ]
    monkeypatch.setattr(manager, "entry_points", lambda group: points)
    registry = ProviderRegistry()
    assert registry.names() == ["local"]
    assert registry.get("local").name == "local"
    with pytest.raises(UnknownProviderException, match="'broken' is installed but failed to load: ModuleNotFound"):
        registry.get("broken")
    with pytest.raises(UnknownProviderException, match="installed providers: local"):
        registry.get("nimbus")
