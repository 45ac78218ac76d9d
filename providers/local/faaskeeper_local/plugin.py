"""Registers the local provider and its ``fk deploy`` options, exactly as a third-party plugin would."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import Provider
from faaskeeper.plugins import hookimpl
from faaskeeper.plugins.options import DeployOption, integer, number
from faaskeeper_local.provider import LocalProvider

DEPLOY_OPTIONS = [
    DeployOption("path", "local.path", "directory that holds the deployment (created if missing)", metavar="DIR"),
    DeployOption(
        "durability",
        "local.durability",
        "normal (commits survive a killed process; the default) or fsync (they also survive a power loss)",
        metavar="MODE",
    ),
    DeployOption(
        "lock-max-hold",
        "local.lock-max-hold",
        "seconds a writer may hold a node lock before another takes it over (default 5)",
        number,
        "SECONDS",
    ),
    DeployOption(
        "visibility-timeout",
        "local.visibility-timeout",
        "seconds before a message taken by a function that died is delivered again (default 10)",
        number,
        "SECONDS",
    ),
    DeployOption(
        "max-receives",
        "local.max-receives",
        "deliveries of a message before it goes to the dead letters (default 5)",
        integer,
        "N",
    ),
]


@hookimpl
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(LocalProvider)


@hookimpl
def faaskeeper_deploy_options(provider: str) -> list[DeployOption] | None:
    return DEPLOY_OPTIONS if provider == LocalProvider.name else None
