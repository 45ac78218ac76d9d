"""The local provider's section of a config: ``"local": {"path": DIR, ...}``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from faaskeeper.config import Config, checked_number
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_local.storage import durability as durability_modes

#: What one commit may write: SQLite has no limit; this one keeps a commit's database
#: transaction, which holds every other writer up, short.
MAX_COMMIT_WRITES = 1000
#: The keys of the ``local`` section.
SECTION_KEYS = frozenset({"path", "durability", "lock-max-hold", "visibility-timeout", "max-receives"})
#: The numbers of the section: key, attribute, range, unit (seconds, or "" for a whole number). At
#: most an hour of lock hold, SQS's twelve hours of visibility, and as many receives as SQS allows.
_NUMBERS = (
    ("lock-max-hold", "lock_max_hold", (0.01, 3600.0), "seconds"),
    ("visibility-timeout", "visibility_timeout", (0.01, 43200.0), "seconds"),
    ("max-receives", "max_receives", (1, 1000), ""),
)
#: The largest node data a local deployment stores: a queue message holds the data and its header
#: in one SQLite value.
MAX_DATA_SIZE = 512 * 1024 * 1024


@dataclass(frozen=True)
class LocalSettings:
    directory: Path
    #: Seconds a writer may hold a node lock before another may take it over.
    lock_max_hold: float = 5.0
    #: Seconds before a message taken by a function that died is delivered again.
    visibility_timeout: float = 10.0
    #: Deliveries of one message before it goes to the dead letters.
    max_receives: int = 5
    #: How durable commits are (:data:`durability_modes.MODES`); ``fk deploy`` stores it in the file.
    durability: str = durability_modes.DEFAULT

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
        mode = section.get("durability", durability_modes.DEFAULT)
        if mode not in durability_modes.MODES:
            allowed = ", ".join(map(repr, durability_modes.MODES))
            raise ConfigurationException(f"Config key 'local.durability' must be one of {allowed}, got {mode!r}")
        values: dict[str, float] = {}
        for key, attr, (low, high), unit in _NUMBERS:
            if key in section:
                values[attr] = checked_number(f"local.{key}", section[key], low, high, integer=not unit, unit=unit)
        if config.max_data_size > MAX_DATA_SIZE:
            raise ConfigurationException(
                f"Config key 'max-data-size' must be at most {MAX_DATA_SIZE} bytes on the local provider "
                f"(SQLite holds at most 1000000000 bytes in one value), got {config.max_data_size}"
            )
        settings = LocalSettings(Path(path).expanduser().resolve() / config.deployment_name)
        return LocalSettings(
            settings.directory,
            lock_max_hold=float(values.get("lock_max_hold", settings.lock_max_hold)),
            visibility_timeout=float(values.get("visibility_timeout", settings.visibility_timeout)),
            max_receives=int(values.get("max_receives", settings.max_receives)),
            durability=mode,
        )
