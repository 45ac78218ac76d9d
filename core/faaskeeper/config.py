"""Client and deployment configuration, in the upstream FaaSKeeper JSON format.

``Config.deserialize`` accepts the upstream keys (``cloud-provider``, ``deployment-name``,
``user-storage``, ``worker-queue``, ...). Keys that do not apply to a provider are optional; the
provider's own section (``"aws": {...}``, ``"local": {...}``) is checked by its plugin.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, TypeVar

from faaskeeper.exceptions import ConfigurationException

DEFAULT_MAX_DATA_SIZE = 1024 * 1024
#: A write whose notifications go to more clients than this has them delivered by the watch
#: function; the distributor delivers smaller fan-outs itself.
DEFAULT_WATCH_FANOUT = 32


class StorageType(Enum):
    PERSISTENT = "persistent"
    KEY_VALUE = "key-value"
    #: A key-value item while the node is small, an object above a size threshold (AWS only).
    HYBRID = "hybrid"
    #: Named by the upstream client but never implemented there; no provider offers it, and a
    #: config that asks for it is refused.
    IN_MEMORY = "in-memory"

    @staticmethod
    def deserialize(val: str) -> StorageType:
        if val == StorageType.IN_MEMORY.value:
            raise _no_in_memory()
        return _enum(StorageType, "user-storage", val)


def _no_in_memory() -> ConfigurationException:
    return ConfigurationException(
        "Config key 'user-storage': \"in-memory\" is not offered by any provider (the upstream client "
        'named it but never implemented it); use "persistent", "key-value" or "hybrid"'
    )


class CloudProvider(StrEnum):
    """The clouds the project ships providers for; a config's ``cloud_provider`` is one of these
    when it names one (it compares equal to the name: ``CloudProvider.AWS == "aws"``), or the
    plain name of a third-party provider."""

    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"
    LOCAL = "local"

    def __repr__(self) -> str:
        # Shown as the name it is, as before (messages quote a config's provider with !r).
        return repr(self.value)

    @staticmethod
    def serialize(val: CloudProvider) -> str:
        return CloudProvider(val).value

    @staticmethod
    def deserialize(val: str) -> CloudProvider:
        return _enum(CloudProvider, "cloud-provider", val)


class QueueType(Enum):
    DYNAMODB = "dynamodb"
    SQS = "sqs"
    PUBSUB = "pubsub"
    LOCAL = "local"

    @staticmethod
    def deserialize(val: str) -> QueueType:
        return _enum(QueueType, "worker-queue", val)


class ClientChannel(Enum):
    TCP = "tcp"
    SQS = "sqs"
    PUBSUB = "pubsub"

    @staticmethod
    def deserialize(val: str) -> ClientChannel:
        return _enum(ClientChannel, "client-channel", val)


#: The top-level keys ``Config.deserialize`` reads (besides the provider's section), and those of
#: upstream FaaSKeeper's configs that have no use here but are accepted without a word.
KNOWN_KEYS = frozenset(
    {
        "cloud-provider",
        "deployment-name",
        "deployment-region",
        "user-storage",
        "worker-queue",
        "distributor-queue",
        "client-channel",
        "heartbeat-frequency",
        "session-timeout",
        "verbose",
        "port",
        "max-data-size",
        "watch-fanout",
        # The path faaskeeper.kazoo's KazooClient works under (ZooKeeper's chroot); the client
        # of faaskeeper.client does not use it.
        "chroot",
    }
)
UPSTREAM_KEYS = frozenset({"system-storage", "configuration"})


def unknown_keys(given: Iterable[str], known: Collection[str]) -> list[tuple[str, str | None]]:
    """Each of the ``given`` keys that is not ``known``, with the known key it most resembles (or None)."""
    found = []
    for key in given:
        if key not in known:
            near = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
            found.append((key, near[0] if near else None))
    return found


E = TypeVar("E", bound=Enum)


def _enum(cls: type[E], key: str, val: object) -> E:
    for member in cls:
        if member.value == val:
            return member
    allowed = " | ".join(str(m.value) for m in cls)
    raise ConfigurationException(f"Config key {key!r} must be one of {allowed}, got {val!r}")


def _bool(key: str, val: object) -> bool:
    if isinstance(val, bool):
        return val
    if isinstance(val, str) and val.lower() in ("true", "false"):
        return val.lower() == "true"
    raise ConfigurationException(f"Config key {key!r} must be true or false, got {val!r}")


def checked_number(key: str, val: object, low: float, high: float, *, integer: bool = False, unit: str = "") -> float:
    """``val`` if it is a number (an integer with ``integer``) from ``low`` to ``high``; otherwise
    ConfigurationException naming ``key`` and the range. NaN and the infinities are never in range."""
    number = val if isinstance(val, int | float) and not isinstance(val, bool) else None
    whole = isinstance(number, int)
    if number is not None and (whole or (not integer and math.isfinite(number))) and low <= number <= high:
        return number
    kind = "an integer" if integer else "a number"
    where = f" {unit}" if unit else ""
    raise ConfigurationException(
        f"Config key {key!r} must be {kind} from {_shown(low)} to {_shown(high)}{where}, got {val!r}"
    )


def _shown(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else f"{bound:g}"


#: The ranges of the top-level numbers. A heartbeat runs at least once a day; a session's timeout
#: is at most three of those heartbeats (the default timeout is three periods).
HEARTBEAT_FREQUENCY = (0.01, 86400.0)
SESSION_TIMEOUT = (0.01, 3 * 86400.0)
#: -1 picks a free port, as 0 does.
PORT = (-1, 65535)
MAX_DATA_SIZE = (1, 1024**3)
WATCH_FANOUT = (0, 1_000_000)


#: Names a directory, a Firestore document, and the middle of bucket, queue, topic and function names:
#: no path separators or dots, and short enough for every provider's longest derived name. Providers
#: whose resources allow less (AWS: lowercase only) check their stricter form when they open a config.
_DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MAX_DEPLOYMENT_NAME = 40


def _deployment_name(val: object) -> str:
    name = _string("deployment-name", val)
    if not _DEPLOYMENT_NAME.fullmatch(name) or len(name) > MAX_DEPLOYMENT_NAME:
        raise ConfigurationException(
            f"Config key 'deployment-name' must be 1-{MAX_DEPLOYMENT_NAME} letters, digits, '-' or '_', "
            f'starting with a letter or digit, e.g. "dev", got {val!r}'
        )
    return name


def _string(key: str, val: object) -> str:
    if not isinstance(val, str) or not val:
        raise ConfigurationException(f"Config key {key!r} must be a non-empty string, got {val!r}")
    return val


class AWSConfig(dict[str, Any]):
    """The ``"aws"`` section of a config, as a dict of its keys, with the upstream client's
    ``data_bucket``: the S3 bucket of user storage (``"data-bucket"``, or the deployment's
    ``faaskeeper-<name>-data`` when the section names none)."""

    def __init__(self, *, section: dict[str, Any] | None = None, deployment_name: str | None = None) -> None:
        super().__init__(section or {})
        self._deployment_name = deployment_name

    @property
    def data_bucket(self) -> str:
        bucket = self.get("data-bucket")
        if bucket is not None:
            return _string("aws.data-bucket", bucket)
        if self._deployment_name:
            return f"faaskeeper-{self._deployment_name}-data"
        raise ConfigurationException("Config key 'aws.data-bucket' is missing and no deployment name implies it")

    @staticmethod
    def deserialize(data: dict[str, Any]) -> AWSConfig:
        if not isinstance(data, dict):
            raise ConfigurationException("Config key 'aws' must be an object with the provider's settings")
        return AWSConfig(section=data)


@dataclass
class Config:
    """A FaaSKeeper deployment as a client (or a function) connects to it.

    ``Config()`` with no arguments is an empty config, to be filled in (as the upstream client's
    was by ``deserialize``); a client started on it fails naming the missing provider."""

    cloud_provider: str = ""
    deployment_name: str = ""
    deployment_region: str | None = None
    #: ``deserialize`` makes it ``HYBRID`` for an AWS config that names none.
    user_storage: StorageType = StorageType.PERSISTENT
    writer_queue: QueueType | None = None
    distributor_queue: QueueType | None = None
    client_channel: ClientChannel = ClientChannel.TCP
    heartbeat_frequency: float = 5.0
    #: Seconds a session may miss heartbeats before it expires; default 3 heartbeat periods.
    session_timeout: float | None = None
    verbose: bool = False
    port: int = -1
    max_data_size: int = DEFAULT_MAX_DATA_SIZE
    #: The most clients the distributor notifies of one write itself; more go to the watch function.
    watch_fanout: int = DEFAULT_WATCH_FANOUT
    provider_section: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    #: The file the config was read from, if any (for messages that tell what to run with it).
    source: Path | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.user_storage is StorageType.IN_MEMORY:
            raise _no_in_memory()

    @property
    def effective_session_timeout(self) -> float:
        return self.session_timeout if self.session_timeout is not None else 3 * self.heartbeat_frequency

    @property
    def heartbeat_interval(self) -> float:
        """Seconds between heartbeats where the functions' host can schedule them freely:
        ``heartbeat-frequency``, but at least three per session timeout, so a session that stops
        answering expires within about a third of a timeout after the timeout has passed."""
        return min(self.heartbeat_frequency, self.effective_session_timeout / 3)

    @property
    def provider_config(self) -> dict[str, Any]:
        """The provider's own section (``"aws": {...}``), as given; for AWS an :class:`AWSConfig`."""
        if self.cloud_provider == CloudProvider.AWS:
            return AWSConfig(section=self.provider_section, deployment_name=self.deployment_name)
        return self.provider_section

    @staticmethod
    def deserialize(data: dict[str, Any]) -> Config:
        if not isinstance(data, dict):
            raise ConfigurationException(f"A config must be a JSON object, got {type(data).__name__}")
        for key in ("cloud-provider", "deployment-name"):
            if key not in data:
                raise ConfigurationException(f"Config is missing the required key {key!r}")
        provider = _string("cloud-provider", data["cloud-provider"])
        section = data.get(provider, {})
        if not isinstance(section, dict):
            raise ConfigurationException(f"Config key {provider!r} must be an object with the provider's settings")
        known = {p.value: p for p in CloudProvider}
        cfg = Config(
            cloud_provider=known.get(provider, provider),
            deployment_name=_deployment_name(data["deployment-name"]),
            provider_section=dict(section),
            raw=dict(data),
        )
        if data.get("deployment-region") is not None:
            cfg.deployment_region = _string("deployment-region", data["deployment-region"])
        if "user-storage" in data:
            cfg.user_storage = StorageType.deserialize(data["user-storage"])
        elif cfg.cloud_provider == CloudProvider.AWS:
            cfg.user_storage = StorageType.HYBRID
        if "worker-queue" in data:
            cfg.writer_queue = _enum(QueueType, "worker-queue", data["worker-queue"])
        if "distributor-queue" in data:
            cfg.distributor_queue = _enum(QueueType, "distributor-queue", data["distributor-queue"])
        if "client-channel" in data:
            cfg.client_channel = ClientChannel.deserialize(data["client-channel"])
        if "heartbeat-frequency" in data:
            cfg.heartbeat_frequency = float(
                checked_number("heartbeat-frequency", data["heartbeat-frequency"], *HEARTBEAT_FREQUENCY, unit="seconds")
            )
        if "session-timeout" in data:
            cfg.session_timeout = float(
                checked_number("session-timeout", data["session-timeout"], *SESSION_TIMEOUT, unit="seconds")
            )
        if "verbose" in data:
            cfg.verbose = _bool("verbose", data["verbose"])
        if "port" in data:
            cfg.port = int(checked_number("port", data["port"], *PORT, integer=True))
        if "max-data-size" in data:
            size = checked_number("max-data-size", data["max-data-size"], *MAX_DATA_SIZE, integer=True, unit="bytes")
            cfg.max_data_size = int(size)
        if "watch-fanout" in data:
            cfg.watch_fanout = int(checked_number("watch-fanout", data["watch-fanout"], *WATCH_FANOUT, integer=True))
        return cfg

    @staticmethod
    def from_file(path: str | Path) -> Config:
        try:
            text = Path(path).read_text()
        except OSError as err:
            raise ConfigurationException(f"Cannot read config file {path}: {err.strerror}") from err
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigurationException(f"Config file {path} is not valid JSON: {err}") from err
        try:
            config = Config.deserialize(data)
        except ConfigurationException as err:
            raise ConfigurationException(f"{path}: {err}") from err
        config.source = Path(path)
        return config

    def serialize(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.raw)
        out.update(
            {
                "cloud-provider": str(self.cloud_provider),
                "deployment-name": self.deployment_name,
                "user-storage": self.user_storage.value,
                "client-channel": self.client_channel.value,
                "heartbeat-frequency": self.heartbeat_frequency,
                "verbose": self.verbose,
                "port": self.port,
                str(self.cloud_provider): dict(self.provider_section),
            }
        )
        if self.session_timeout is not None:
            out["session-timeout"] = self.session_timeout
        if self.max_data_size != DEFAULT_MAX_DATA_SIZE:
            out["max-data-size"] = self.max_data_size
        if self.watch_fanout != DEFAULT_WATCH_FANOUT:
            out["watch-fanout"] = self.watch_fanout
        if self.deployment_region is not None:
            out["deployment-region"] = self.deployment_region
        if self.writer_queue is not None:
            out["worker-queue"] = self.writer_queue.value
        if self.distributor_queue is not None:
            out["distributor-queue"] = self.distributor_queue.value
        return out
