"""Where ``fk deploy service`` writes the client config: ``--output``, else back to ``--config``,
except that an example shipped with FaaSKeeper (a file under a directory named ``examples``) is
never overwritten: its client config goes to a new file in the current directory."""

from __future__ import annotations

import json
from pathlib import Path

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException

EXAMPLES = "examples"


def is_example(path: Path) -> bool:
    return EXAMPLES in path.resolve().parent.parts


def example_output(config: Config) -> Path:
    """The file an example's client config goes to: one per provider and deployment."""
    return Path(f"fk-{config.cloud_provider}-{config.deployment_name}.json")


def client_config_path(config_path: Path, output: str | None, config: Config) -> Path:
    """Where to write the client config of ``config`` (read from ``config_path``). Raises
    ConfigurationException, before anything is deployed, if the default for an example is a file
    that holds another deployment's config."""
    if output:
        return Path(output)
    if not is_example(config_path):
        return config_path
    target = example_output(config)
    if target.exists() and not _same_deployment(target, config):
        raise ConfigurationException(
            f"{config_path} is an example, which fk deploy leaves as it is, and {target} holds another "
            "deployment's config: choose the file for the client config with --output FILE"
        )
    return target


def _same_deployment(path: Path, config: Config) -> bool:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(data, dict)
        and data.get("cloud-provider") == config.cloud_provider
        and data.get("deployment-name") == config.deployment_name
    )
