"""A deployment's files compared with those opened: any of them removed or replaced is named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from faaskeeper.exceptions import DeploymentUnusableException
from faaskeeper_local.storage.database import Database


@pytest.mark.parametrize(
    ("suffix", "named"),
    [
        ("", r"faaskeeper\.sqlite3 was removed or replaced while in use"),
        ("-wal", r"write-ahead log .*faaskeeper\.sqlite3-wal was deleted or replaced while in use"),
        ("-shm", r"WAL index .*faaskeeper\.sqlite3-shm was deleted or replaced while in use"),
    ],
)
@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_file_deleted_or_replaced_under_an_open_deployment_is_named(
    tmp_path: Path, suffix: str, named: str, how: str
) -> None:
    path = tmp_path / "faaskeeper.sqlite3"
    db = Database(path, create=True)
    try:
        db.query("SELECT 1")
        target = Path(f"{path}{suffix}")
        if how == "deleted":
            target.unlink()
        else:
            other = tmp_path / "other"
            other.write_bytes(b"")  # another file, renamed over this one (its inode, not its content, changes)
            os.replace(other, target)
        with pytest.raises(DeploymentUnusableException, match=named), db.transaction() as conn:
            conn.execute("INSERT INTO schedules VALUES ('x', 0)")
        with pytest.raises(DeploymentUnusableException, match=named):
            db.query("SELECT 1")  # the handle stays unusable, for the same reason
    finally:
        db.close()


def test_a_read_looks_at_the_files_at_most_once_in_the_interval_it_is_given(tmp_path: Path) -> None:
    path = tmp_path / "faaskeeper.sqlite3"
    db = Database(path, create=True)
    try:
        identity = db._identity
        assert identity is not None
        identity.check()
        Path(f"{path}-shm").unlink()
        identity.check(unless_within=3600)  # looked a moment ago: not again
        with pytest.raises(DeploymentUnusableException, match="WAL index"):
            identity.check()
    finally:
        db.close()
