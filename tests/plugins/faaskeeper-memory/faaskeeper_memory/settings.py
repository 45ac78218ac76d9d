"""The memory provider's section of a config: ``"memory": {"lock-max-hold": 5, ...}``, all optional."""

from __future__ import annotations

from dataclasses import dataclass

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException


@dataclass(frozen=True)
class MemorySettings:
    #: Seconds a writer may hold a node lock before another may take it over.
    lock_max_hold: float = 5.0
    #: Seconds before a message taken by a function that died is delivered again.
    visibility_timeout: float = 10.0
    #: Deliveries of one message before it goes to the dead letters.
    max_receives: int = 5

    @staticmethod
    def from_config(config: Config) -> MemorySettings:
        section = config.provider_section
        defaults = MemorySettings()
        values: dict[str, float] = {}
        for key, default in (
            ("lock-max-hold", defaults.lock_max_hold),
            ("visibility-timeout", defaults.visibility_timeout),
            ("max-receives", defaults.max_receives),
        ):
            value = section.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigurationException(f"Config key 'memory.{key}' must be a positive number, got {value!r}")
            values[key] = value
        return MemorySettings(
            lock_max_hold=float(values["lock-max-hold"]),
            visibility_timeout=float(values["visibility-timeout"]),
            max_receives=int(values["max-receives"]),
        )
