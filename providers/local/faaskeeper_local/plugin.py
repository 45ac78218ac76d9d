"""Registers the local provider, exactly as a third-party plugin would."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import Provider
from faaskeeper.plugins import hookimpl
from faaskeeper_local.provider import LocalProvider


@hookimpl
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(LocalProvider)
