"""Reading the config file that every ``fk`` command taking a deployment's config reads."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from faaskeeper.api.provider import Provider
from faaskeeper.config import KNOWN_KEYS, UPSTREAM_KEYS, Config, unknown_keys
from faaskeeper.exceptions import ConfigurationException, UnknownProviderException
from faaskeeper.plugins.manager import registry


def read_config_data(path: Path, provider: str | None = None) -> dict[str, Any]:
    """The JSON object in ``path``, with ``cloud-provider`` set from ``provider`` if the file has none.

    Raises ConfigurationException naming the file, and the key with its expected form, when the
    file cannot be read, is not a JSON object, lacks a required key or disagrees with ``provider``.
    """
    try:
        data: Any = json.loads(path.read_text())
    except OSError as err:
        raise ConfigurationException(f"Cannot read config file {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise ConfigurationException(f"Config file {path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ConfigurationException(f"Config file {path} must hold a JSON object, got {type(data).__name__}")
    given = data.get("cloud-provider")
    if provider is not None:
        if given is not None and given != provider:
            raise ConfigurationException(f"--provider {provider} disagrees with 'cloud-provider': {given!r} in {path}")
        data["cloud-provider"] = provider
    elif given is None:
        installed = ", ".join(registry().names()) or "none"
        raise ConfigurationException(
            f"Config file {path} is missing the required key 'cloud-provider', the provider's name "
            f'(installed: {installed}), e.g. "cloud-provider": "local"; or pass --provider'
        )
    if "deployment-name" not in data:
        raise ConfigurationException(
            f"Config file {path} is missing the required key 'deployment-name', the deployment's name, "
            'e.g. "deployment-name": "dev"'
        )
    return data


@contextmanager
def naming_file(path: Path) -> Iterator[None]:
    """A config error (an unknown provider too) raised in the block starts with ``path``, unless it names it."""
    try:
        yield
    except (ConfigurationException, UnknownProviderException) as err:
        if str(path) in str(err):
            raise
        raise type(err)(f"{path}: {err}") from err


def _warn(message: str) -> None:
    print(f"fk: warning: {message}", file=sys.stderr)


def checked_config(data: dict[str, Any], path: Path, *, warn: Callable[[str], None] = _warn) -> tuple[Config, Provider]:
    """The config in ``data`` (read from ``path``) and its provider, which found the config usable.

    A config error names ``path``, the key and the form it expects. Each key that neither FaaSKeeper
    nor the provider knows (a typo?) is kept, and passed to ``warn`` as one line naming it.
    """
    with naming_file(path):
        config = Config.deserialize(data)
        provider = registry().get(config.cloud_provider)
        provider.validate_config(config)
    config.source = path
    for line in unknown_key_warnings(config, provider):
        warn(f"{path}: {line}")
    return config, provider


def unknown_key_warnings(config: Config, provider: Provider) -> list[str]:
    """A line for each key of ``config``, at the top or in the provider's section, that nothing reads."""
    top = KNOWN_KEYS | UPSTREAM_KEYS | set(registry().names()) | {config.cloud_provider}
    found = unknown_keys(config.raw, top)
    section = provider.config_keys()
    if section is not None:
        prefix = f"{config.cloud_provider}."
        found += [
            (prefix + key, None if near is None else prefix + near)
            for key, near in unknown_keys(config.provider_section, section)
        ]
    return [
        f"unknown config key {key!r} is ignored" + (f" (did you mean {near!r}?)" if near else "") for key, near in found
    ]


def load_config(path: Path, provider: str | None = None) -> Config:
    """The config in the file ``path``, read and checked as ``fk deploy`` reads and checks it."""
    config, _ = checked_config(read_config_data(path, provider), path)
    return config


def write_config(config: Config, path: Path) -> None:
    path.write_text(json.dumps(config.serialize(), indent=2) + "\n")
