"""Finding and loading provider plugins."""

from __future__ import annotations

import threading

import pluggy

from faaskeeper.api.provider import Provider
from faaskeeper.exceptions import UnknownProviderException
from faaskeeper.plugins import hookspecs

ENTRY_POINT_GROUP = "faaskeeper.providers"


class ProviderRegistry:
    """The providers contributed by the installed plugins (entry point group ``faaskeeper.providers``)."""

    def __init__(self, *, autoload: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._autoload = autoload
        self._loaded = False
        self._providers: dict[str, type[Provider]] = {}
        self._lock = threading.Lock()

    def register_plugin(self, plugin: object, name: str | None = None) -> None:
        """Register a plugin object or module directly (tests, embedding applications)."""
        with self._lock:
            self.pm.register(plugin, name)
            self._providers.clear()
            self._loaded = False

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            if self._autoload:
                self.pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
                self._autoload = False
            self.pm.check_pending()
            found: dict[str, type[Provider]] = {}

            def register(cls: type[Provider]) -> None:
                found[cls.name] = cls

            self.pm.hook.faaskeeper_register_providers(register=register)
            self._providers = found
            self._loaded = True

    def names(self) -> list[str]:
        self._load()
        return sorted(self._providers)

    def get(self, name: str) -> Provider:
        self._load()
        cls = self._providers.get(name)
        if cls is None:
            installed = ", ".join(sorted(self._providers)) or "none"
            raise UnknownProviderException(
                f"Unknown provider {name!r}; installed providers: {installed}. "
                f"Install its plugin, e.g. `pip install faaskeeper-{name}`, which registers an entry "
                f"point in the {ENTRY_POINT_GROUP!r} group."
            )
        return cls()


_default: ProviderRegistry | None = None


def registry() -> ProviderRegistry:
    global _default
    if _default is None:
        _default = ProviderRegistry()
    return _default


def get_provider(name: str) -> Provider:
    return registry().get(name)
