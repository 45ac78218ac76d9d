"""Keeps a process whose WAL index was deleted from checkpointing the WAL with that index.

The last connection to close a WAL database copies the WAL into the database file by its index
(``-shm``) and deletes both. A process that held on to a deleted index knows nothing of the
frames that processes using the new index appended: its checkpoint would lose them, or copy
frames it misreads. Holding a read lock on SQLite's SHARED byte range through an open file
description lock (Linux) makes that exclusive lock, and so the checkpoint, impossible from this
process; the next process to open the deployment rebuilds the index from the WAL itself.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from pathlib import Path

log = logging.getLogger("faaskeeper.local")

# os_unix.c: a SHARED lock is a read lock on these bytes, EXCLUSIVE a write lock on them.
_PENDING_BYTE = 0x40000000
_SHARED_FIRST = _PENDING_BYTE + 2
_SHARED_SIZE = 510

#: Descriptors held for the life of the process: closing any descriptor of the file would drop
#: the locks SQLite holds on it in this process (POSIX record locks belong to the process).
_held: list[int] = []


def forbid_checkpoint(path: Path) -> bool:
    """Make this process unable to checkpoint the database ``path``; False where the platform
    has no open file description locks (the process then closes its connections as SQLite does)."""
    command = getattr(fcntl, "F_OFD_SETLK", None)
    if command is None:
        return False
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError as err:
        log.warning("cannot keep %s from being checkpointed: %s", path, err)
        return False
    # struct flock: type, whence, start, length, pid (0 for an open file description lock).
    shared_range = struct.pack("@hhqqi4x", fcntl.F_RDLCK, os.SEEK_SET, _SHARED_FIRST, _SHARED_SIZE, 0)
    try:
        fcntl.fcntl(descriptor, command, shared_range)
    except OSError as err:
        log.warning("cannot keep %s from being checkpointed: %s", path, err)
        _held.append(descriptor)  # never closed, for the reason above
        return False
    _held.append(descriptor)
    return True
