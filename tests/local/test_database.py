"""The deployment file's layout version."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from faaskeeper.exceptions import ProviderException
from faaskeeper_local.storage.database import Database
from faaskeeper_local.storage.schema import SCHEMA_VERSION


def test_a_file_of_another_layout_is_refused_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "deployment.sqlite"
    Database(path, create=True).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with pytest.raises(ProviderException, match=r"layout 1; .* needs layout " + SCHEMA_VERSION + r".*--clean"):
        Database(path)


def test_a_file_of_this_layout_opens_again(tmp_path: Path) -> None:
    path = tmp_path / "deployment.sqlite"
    Database(path, create=True).close()
    Database(path).close()


def test_a_file_of_layout_2_is_brought_up_to_date_keeping_its_nodes(tmp_path: Path) -> None:
    path = tmp_path / "deployment.sqlite"
    Database(path, create=True).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO system_nodes (path, state, node_exists, pending) VALUES ('/a', '{}', 1, '[7]')")
        conn.execute("ALTER TABLE system_nodes DROP COLUMN claimed")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    Database(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("SELECT pending, claimed FROM system_nodes WHERE path = '/a'").fetchone() == ("[7]", 0)


def test_a_missing_file_is_created_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "deployment" / "faaskeeper.sqlite3"
    with pytest.raises(ProviderException, match=f"Cannot open the deployment file {path}"):
        Database(path)
    assert not path.parent.exists()
    Database(path, create=True).close()
    Database(path).close()


def test_a_file_removed_while_open_is_not_recreated_by_another_thread(tmp_path: Path) -> None:
    path = tmp_path / "faaskeeper.sqlite3"
    db = Database(path, create=True)
    try:
        for leftover in tmp_path.iterdir():
            leftover.unlink()
        failures: list[BaseException] = []
        thread = threading.Thread(target=lambda: _query(db, failures))
        thread.start()
        thread.join()
        assert len(failures) == 1
        assert not path.exists()
    finally:
        db.close()


def _query(db: Database, failures: list[BaseException]) -> None:
    try:
        db.query("SELECT 1")
    except ProviderException as err:
        failures.append(err)
