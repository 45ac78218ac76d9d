"""The plugin contract: providers are pluggy plugins found through ``faaskeeper.providers`` entry points."""

from faaskeeper.plugins.hookspecs import hookimpl, hookspec
from faaskeeper.plugins.manager import ENTRY_POINT_GROUP, ProviderRegistry, get_provider, registry

__all__ = ["ENTRY_POINT_GROUP", "ProviderRegistry", "get_provider", "hookimpl", "hookspec", "registry"]
