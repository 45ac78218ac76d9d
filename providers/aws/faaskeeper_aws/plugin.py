"""Registers the AWS provider and its ``fk deploy`` options through the ``faaskeeper.providers`` entry point."""

from __future__ import annotations

from collections.abc import Callable

from faaskeeper.api.provider import Provider
from faaskeeper.plugins import hookimpl
from faaskeeper.plugins.options import DeployOption
from faaskeeper_aws.deploy.options import CLI_OPTIONS
from faaskeeper_aws.provider import AwsProvider


@hookimpl
def faaskeeper_register_providers(register: Callable[[type[Provider]], None]) -> None:
    register(AwsProvider)


@hookimpl
def faaskeeper_deploy_options(provider: str) -> list[DeployOption] | None:
    return CLI_OPTIONS if provider == AwsProvider.name else None
