"""Registers the Azure provider and its ``fk deploy`` options through the ``faaskeeper.providers`` entry point."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import Provider
from faaskeeper.plugins import hookimpl
from faaskeeper.plugins.options import DeployOption
from faaskeeper_azure.deploy.options import CLI_OPTIONS
from faaskeeper_azure.provider import AzureProvider


@hookimpl
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(AzureProvider)


@hookimpl
def faaskeeper_deploy_options(provider: str) -> list[DeployOption] | None:
    return CLI_OPTIONS if provider == AzureProvider.name else None
