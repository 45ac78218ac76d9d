"""Whether the files at a deployment's path are still the ones this process opened.

SQLite never notices that its database file was removed or replaced, or that the WAL index
(``-shm``) was deleted: it goes on using the files it holds open, acknowledging writes that no
other process will see. A process that opens the path afterwards gets another deployment, or,
after a deleted ``-shm``, a second index over the same WAL, so that two processes append to it
unaware of each other. Every file of a deployment is therefore compared, by device and inode,
with the one opened; the directory's modification time, which any such change moves, makes the
comparison one ``stat`` call while nothing changed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from faaskeeper.exceptions import DeploymentUnusableException

#: The database file, its write-ahead log and its WAL index (shared memory).
SUFFIXES = ("", "-wal", "-shm")
#: File times move in clock ticks (up to 10 ms): a change this soon after the recorded one may
#: have left the directory's time as it was, so the files themselves are compared until then.
_SETTLED_NS = 100_000_000

_Key = tuple[int, int]


def _key(path: str) -> _Key | None:
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


class FileIdentity:
    """The files of the deployment at ``path`` as this process opened them (after its first read,
    when SQLite has opened the WAL and its index)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._names = {suffix: f"{path}{suffix}" for suffix in SUFFIXES}
        self._opened = {suffix: _key(name) for suffix, name in self._names.items()}
        #: Whether the WAL index was found deleted or replaced (see :mod:`faaskeeper_local.storage.wal_guard`).
        self.index_lost = False
        if self._opened[""] is None:
            raise self._changed("")
        self._directory = self._directory_key()
        self._checked = time.monotonic()

    def _directory_key(self) -> tuple[int, int, int] | None:
        try:
            status = os.stat(self.path.parent)
        except FileNotFoundError:
            return None
        return status.st_dev, status.st_ino, status.st_mtime_ns

    def check(self, *, unless_within: float = 0.0) -> None:
        """Raise DeploymentUnusableException, saying which file changed, if one of the deployment's
        files was removed or replaced since it was opened; not looked at again if the last look
        found them unchanged less than ``unless_within`` seconds ago."""
        now = time.monotonic()
        if now - self._checked < unless_within:
            return
        directory = self._directory_key()
        if directory is None or directory != self._directory or time.time_ns() - directory[2] <= _SETTLED_NS:
            for suffix, name in self._names.items():
                opened = self._opened[suffix]
                if opened is not None and _key(name) != opened:
                    raise self._changed(suffix)
            self._directory = directory
        self._checked = now

    def _changed(self, suffix: str) -> DeploymentUnusableException:
        after = "every call fails from now on; one in flight may or may not have taken effect before that"
        self.index_lost = self.index_lost or suffix == "-shm"
        if suffix == "":
            return DeploymentUnusableException(
                f"The deployment file {self.path} was removed or replaced while in use "
                f"(fk remove service, fk deploy service --clean?): {after}"
            )
        return DeploymentUnusableException(
            f"The deployment file's {'WAL index' if suffix == '-shm' else 'write-ahead log'} {self.path}{suffix} "
            f"was deleted or replaced while in use: this process would no longer see the writes of other "
            f"processes, nor they its writes, so it stops using the deployment; {after}"
        )
