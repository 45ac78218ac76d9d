"""Reading the deployment config file that ``fk deploy``, ``remove``, ``status`` and ``cost`` take."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
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


def write_config(config: Config, path: Path) -> None:
    path.write_text(json.dumps(config.serialize(), indent=2) + "\n")
