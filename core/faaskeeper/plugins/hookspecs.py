"""Hook specifications of FaaSKeeper plugins.

A provider package adds one entry point, e.g.::

    [project.entry-points."faaskeeper.providers"]
    mycloud = "faaskeeper_mycloud.plugin"

and implements the hooks below in that module with ``@hookimpl``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from faaskeeper.api.provider import Provider

PROJECT = "faaskeeper"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register provider classes by calling ``register(ProviderClass)`` for each.

    The class's ``name`` is what ``cloud-provider`` in a config and ``fk --provider`` select.
    """


@hookspec
def faaskeeper_deploy_options(provider: str) -> list[tuple[str, str]] | None:
    """Extra ``fk deploy`` options a provider accepts, as ``(option, help)`` pairs, or None."""
