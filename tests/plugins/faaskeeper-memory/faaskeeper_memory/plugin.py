"""Registers the memory provider; the package's only link to FaaSKeeper is this entry point."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import Provider
from faaskeeper.plugins import hookimpl
from faaskeeper_memory.provider import MemoryProvider


@hookimpl
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(MemoryProvider)
