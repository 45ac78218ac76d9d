"""The local provider's section of a config: ``"local": {"path": DIR, ...}``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException

#: The keys of the ``local`` section.
SECTION_KEYS = frozenset({"path", "lock-max-hold", "visibility-timeout", "max-receives"})


@dataclass(frozen=True)
class LocalSettings:
    directory: Path
    #: Seconds a writer may hold a node lock before another may take it over.
    lock_max_hold: float = 5.0
    #: Seconds before a message taken by a function that died is delivered again.
    visibility_timeout: float = 10.0
    #: Deliveries of one message before it goes to the dead letters.
    max_receives: int = 5

    @property
    def database(self) -> Path:
        return self.directory / "faaskeeper.sqlite3"

    @staticmethod
    def from_config(config: Config) -> LocalSettings:
        section = config.provider_section
        if "path" not in section:
            raise ConfigurationException(
                "Config key 'local' must contain 'path', the directory holding the deployment, "
                'e.g. "local": {"path": "./fk-data"}'
            )
        path = section["path"]
        if not isinstance(path, str) or not path:
            raise ConfigurationException(f"Config key 'local.path' must be a directory path, got {path!r}")
        values: dict[str, float] = {}
        for key, attr in (
            ("lock-max-hold", "lock_max_hold"),
            ("visibility-timeout", "visibility_timeout"),
            ("max-receives", "max_receives"),
        ):
            if key in section:
                value = section[key]
                if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                    raise ConfigurationException(f"Config key 'local.{key}' must be a positive number, got {value!r}")
                values[attr] = value
        settings = LocalSettings(Path(path).expanduser().resolve() / config.deployment_name)
        return LocalSettings(
            settings.directory,
            lock_max_hold=float(values.get("lock_max_hold", settings.lock_max_hold)),
            visibility_timeout=float(values.get("visibility_timeout", settings.visibility_timeout)),
            max_receives=int(values.get("max_receives", settings.max_receives)),
        )
