"""Finding and loading provider plugins."""

from __future__ import annotations

import logging
import threading
from importlib.metadata import entry_points

import pluggy

from faaskeeper.api.provider import Provider
from faaskeeper.exceptions import UnknownProviderException
from faaskeeper.plugins import hookspecs
from faaskeeper.plugins.options import DeployOption

ENTRY_POINT_GROUP = "faaskeeper.providers"

log = logging.getLogger("faaskeeper.plugins")


class ProviderRegistry:
    """The providers contributed by the installed plugins (entry point group ``faaskeeper.providers``)."""

    def __init__(self, *, autoload: bool = True) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self._autoload = autoload
        self._loaded = False
        self._providers: dict[str, type[Provider]] = {}
        #: Plugins whose entry point failed to load, by entry point name, with the error.
        self._broken: dict[str, BaseException] = {}
        #: The distribution each loaded entry point came from, by entry point name.
        self.sources: dict[str, str] = {}
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
                self._load_entry_points()
                self._autoload = False
            self.pm.check_pending()
            found: dict[str, type[Provider]] = {}

            def register(cls: type[Provider]) -> None:
                found[cls.name] = cls

            self.pm.hook.faaskeeper_register_providers(register=register)
            self._providers = found
            self._loaded = True

    def _load_entry_points(self) -> None:
        """Register every installed plugin; one that fails to import is set aside, not fatal."""
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            if self.pm.has_plugin(entry_point.name):
                continue
            try:
                plugin = entry_point.load()
            except Exception as err:
                log.warning("provider plugin %r failed to load: %s", entry_point.name, err)
                self._broken[entry_point.name] = err
                continue
            self.pm.register(plugin, name=entry_point.name)
            if entry_point.dist is not None:
                self.sources[entry_point.name] = entry_point.dist.name

    def names(self) -> list[str]:
        self._load()
        return sorted(self._providers)

    def deploy_options(self) -> dict[str, list[DeployOption]]:
        """The ``fk deploy`` options each provider's plugins contribute, by provider name.

        A plugin whose hook fails is left out with a warning, so it cannot break ``fk`` for the others.
        """
        options: dict[str, list[DeployOption]] = {}
        for name in self.names():
            found: list[DeployOption] = []
            for impl in self.pm.hook.faaskeeper_deploy_options.get_hookimpls():
                # pluggy lets an implementation take fewer arguments than the spec names.
                arguments = {"provider": name} if "provider" in impl.argnames else {}
                try:
                    contributed = impl.function(**arguments)
                except Exception as err:
                    log.warning("plugin %r failed to give deploy options for %r: %s", impl.plugin_name, name, err)
                    continue
                if contributed is None:
                    continue
                if not isinstance(contributed, list) or not all(isinstance(o, DeployOption) for o in contributed):
                    log.warning("plugin %r gave deploy options that are not a list of DeployOption", impl.plugin_name)
                    continue
                found.extend(contributed)
            if found:
                options[name] = found
        return options

    def get(self, name: str) -> Provider:
        self._load()
        cls = self._providers.get(name)
        if cls is None and name in self._broken:
            err = self._broken[name]
            raise UnknownProviderException(
                f"Provider {name!r} is installed but failed to load: {type(err).__name__}: {err}. "
                f"Reinstall its plugin (e.g. `pip install --force-reinstall faaskeeper-{name}`)."
            )
        if cls is None and not name:
            installed = ", ".join(sorted(self._providers)) or "none"
            raise UnknownProviderException(
                f"The config names no provider: set its 'cloud-provider' (installed providers: {installed})"
            )
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
