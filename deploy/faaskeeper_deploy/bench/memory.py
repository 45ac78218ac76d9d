"""Memory figures of ``fk bench``: the resident set of this process, and the size of a local deployment's file.

The resident set is read from ``/proc/self/status`` (``VmRSS``) where there is one, else its peak
so far from :func:`resource.getrusage`. It is the whole bench process: its
FaaSKeeper client, the functions a local deployment runs in the process of its clients, and
kazoo's client when ZooKeeper is measured beside it.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from faaskeeper.config import Config

_STATUS = Path("/proc/self/status")


def _status_bytes(key: str) -> int | None:
    """A ``kB`` figure of ``/proc/self/status`` in bytes, or None where the file or the key is absent."""
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            number, _, unit = value.strip().partition(" ")
            return int(number) * 1024 if unit.strip().lower() == "kb" else int(number)
    return None


def _rusage_peak() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def rss_bytes() -> int:
    """This process's resident set now (its peak where the current figure cannot be read)."""
    current = _status_bytes("VmRSS")
    return current if current is not None else _rusage_peak()


def deployment_file_sizes(config: Config) -> dict[str, int]:
    """Bytes of a local deployment's SQLite file and of its write-ahead log (empty for other providers)."""
    if config.cloud_provider != "local":
        return {}
    from faaskeeper_local.settings import LocalSettings

    database = LocalSettings.from_config(config).database
    sizes = {"deployment_file_bytes": database, "wal_bytes": database.with_name(database.name + "-wal")}
    return {key: path.stat().st_size if path.exists() else 0 for key, path in sizes.items()}
