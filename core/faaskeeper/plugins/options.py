"""Provider-specific options of ``fk deploy``, which plugins contribute through ``faaskeeper_deploy_options``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faaskeeper.exceptions import ConfigurationException


def integer(text: str) -> int:
    """An option value that must be a whole number."""
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def number(text: str) -> float:
    """An option value that must be a number."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None


def text(value: str) -> str:
    """An option value taken as given (it must not be empty)."""
    if not value:
        raise ValueError("expected a value, got an empty string")
    return value


@dataclass(frozen=True)
class DeployOption:
    """``fk deploy --<provider>-<name> VALUE``: sets the config key ``key`` before the deploy.

    ``key`` is a top-level config key (``"deployment-region"``) or one of the provider's section
    (``"aws.endpoint-url"``: the ``"endpoint-url"`` key of ``"aws": {...}``). ``parse`` turns the
    command-line text into the config value, raising ValueError with what it expected. The provider
    validates the value as it does any config value, so an option is no looser than the file.
    """

    name: str
    key: str
    help: str
    parse: Callable[[str], Any] = text
    metavar: str = "VALUE"

    def flag(self, provider: str) -> str:
        return f"--{provider}-{self.name}"

    def apply(self, data: dict[str, Any], value: Any) -> None:
        """Set this option's key in the config ``data`` (a config as read from JSON) to ``value``."""
        section, dot, key = self.key.partition(".")
        if not dot:
            data[section] = value
            return
        nested = data.setdefault(section, {})
        if not isinstance(nested, dict):
            raise ConfigurationException(f"Config key {section!r} must be an object with the provider's settings")
        nested[key] = value
