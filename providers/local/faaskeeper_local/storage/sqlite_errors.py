"""What an SQLite error means for a deployment file, in words that name the cause."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# SQLite's primary result codes (the low byte of an extended code).
SQLITE_BUSY = 5
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26


def primary_code(err: sqlite3.Error) -> int | None:
    code = getattr(err, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_corruption(err: sqlite3.Error) -> bool:
    return primary_code(err) in (SQLITE_CORRUPT, SQLITE_NOTADB)


def is_disk_full(err: sqlite3.Error) -> bool:
    return primary_code(err) == SQLITE_FULL


def corruption(path: Path, cause: str) -> str:
    """The message of a damaged deployment file, with the ways out."""
    return (
        f"The deployment file {path} is corrupt ({cause}): restore it from a copy, or start over with "
        "`fk deploy service --clean`, which deletes every node"
    )


def cause(path: Path, err: sqlite3.Error, busy_timeout: float) -> str:
    """Why an operation on the deployment file ``path`` failed, as the start of a sentence."""
    code = primary_code(err)
    if code == SQLITE_FULL:
        return f"The disk holding the deployment file {path} is full ({err})"
    if code == SQLITE_IOERR:
        return f"Reading or writing the deployment file {path} failed ({err})"
    if code == SQLITE_READONLY:
        return f"The deployment file {path} cannot be written ({err}): check its permissions and its file system"
    if code == SQLITE_BUSY:
        return f"The deployment file {path} stayed locked by another process for {busy_timeout:g} s ({err})"
    if code == SQLITE_CANTOPEN:
        return f"The deployment file {path} cannot be opened ({err})"
    return f"The deployment file {path} failed ({err})"
