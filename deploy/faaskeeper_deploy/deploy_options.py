"""The provider-specific options of ``fk deploy``: from the plugins' ``faaskeeper_deploy_options`` hook.

The CLI knows no provider's options: each plugin's appear in ``fk deploy --help`` under the
provider's name as ``--<provider>-<name>``, and a value given sets its config key.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from faaskeeper.exceptions import ConfigurationException
from faaskeeper.plugins.manager import registry
from faaskeeper.plugins.options import DeployOption

log = logging.getLogger("faaskeeper_deploy")

#: Where the parsed options of each provider are kept on the namespace.
_PREFIX = "provider option "


def _dest(provider: str, option: DeployOption) -> str:
    return f"{_PREFIX}{provider} {option.name}"


def _argument_type(option: DeployOption) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from err

    return parse


def add_provider_options(parser: argparse.ArgumentParser) -> dict[str, list[DeployOption]]:
    """Add every installed provider's deploy options to ``parser``, one group per provider; returns them."""
    added: dict[str, list[DeployOption]] = {}
    taken = {flag for action in parser._actions for flag in action.option_strings}
    for provider, options in sorted(registry().deploy_options().items()):
        group = parser.add_argument_group(
            f"options of the {provider} provider",
            f"For a deployment on {provider}; each sets the config key shown.",
        )
        for option in options:
            flag = option.flag(provider)
            if flag in taken:
                log.warning("deploy option %s of provider %r is given twice; the first one is kept", flag, provider)
                continue
            taken.add(flag)
            group.add_argument(
                flag,
                dest=_dest(provider, option),
                type=_argument_type(option),
                metavar=option.metavar,
                help=f"{option.help} [config key '{option.key}']",
            )
            added.setdefault(provider, []).append(option)
    return added


def apply_provider_options(
    args: argparse.Namespace, options: dict[str, list[DeployOption]], data: dict[str, Any]
) -> dict[str, str]:
    """Set in the config ``data`` the keys of the options given on the command line.

    Returns the flag that set each key. An option of another provider than the config's is an error.
    """
    provider = data.get("cloud-provider")
    given: dict[str, str] = {}
    for owner, owned in options.items():
        for option in owned:
            value = getattr(args, _dest(owner, option), None)
            if value is None:
                continue
            flag = option.flag(owner)
            if owner != provider:
                raise ConfigurationException(
                    f"{flag} is an option of the {owner} provider, but this deployment is on {provider!r}"
                )
            option.apply(data, value)
            given[option.key] = flag
    return given


@contextmanager
def blaming_options(given: dict[str, str]) -> Iterator[None]:
    """A config error raised in the block names the command-line option that set the key it is about."""
    try:
        yield
    except ConfigurationException as err:
        message = str(err)
        for key, flag in given.items():
            if f"'{key}'" in message:
                raise ConfigurationException(f"{message} (set by {flag})") from err
        raise
