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
    from faaskeeper.plugins.options import DeployOption

PROJECT = "faaskeeper"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    """Register provider classes by calling ``register(ProviderClass)`` for each.

    The class's ``name`` is what ``cloud-provider`` in a config and ``fk --provider`` select.
    """


@hookspec
def faaskeeper_deploy_options(provider: str) -> list[DeployOption] | None:
    """The ``fk deploy`` options of the provider named ``provider``, or None if it is not this plugin's.

    ``fk deploy --help`` lists them under the provider's name as ``--<provider>-<name>``; a value
    given sets its config key before the provider validates the config and deploys.
    """
