"""Registers the memory provider and its ``fk deploy`` option; the package's only link to FaaSKeeper
is this entry point."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import Provider
from faaskeeper.plugins import hookimpl
from faaskeeper.plugins.options import DeployOption, number
from faaskeeper_memory.provider import MemoryProvider


@hookimpl
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(MemoryProvider)


@hookimpl
def faaskeeper_deploy_options(provider: str) -> list[DeployOption] | None:
    if provider != MemoryProvider.name:
        return None
    return [
        DeployOption(
            "lock-max-hold",
            "memory.lock-max-hold",
            "seconds a writer may hold a node lock (default 5)",
            number,
            "SECONDS",
        )
    ]
