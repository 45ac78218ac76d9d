"""How durable a local deployment's commits are: the SQLite ``synchronous`` level of its connections.

The mode is stored in the deployment file itself, so that every process that opens it (functions,
clients, heartbeat) commits with the same level, whatever its own config says.
"""

from __future__ import annotations

#: The ``meta`` key under which the deployment file stores its mode.
DURABILITY_KEY = "durability"
#: Survives the death of any process (the WAL is in the OS's hands); a power loss may drop the
#: last transactions.
NORMAL = "normal"
#: Syncs the WAL on every commit, so a commit survives a power loss, as ZooKeeper's fsync of its log.
FSYNC = "fsync"
DEFAULT = NORMAL
#: Each mode's ``PRAGMA synchronous`` level.
SYNCHRONOUS: dict[str, str] = {NORMAL: "NORMAL", FSYNC: "FULL"}
MODES: tuple[str, ...] = tuple(SYNCHRONOUS)
