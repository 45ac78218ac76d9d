"""Registers the Azure provider through the ``faaskeeper.providers`` entry point."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import Provider
from faaskeeper.plugins import hookimpl
from faaskeeper_azure.provider import AzureProvider


@hookimpl
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(AzureProvider)
