"""The deployment file's layout version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from faaskeeper.exceptions import ProviderException
from faaskeeper_local.database import SCHEMA_VERSION, Database


def test_a_file_of_another_layout_is_refused_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "deployment.sqlite"
    Database(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with pytest.raises(ProviderException, match=r"layout 1; .* needs layout " + SCHEMA_VERSION + r".*--clean"):
        Database(path)


def test_a_file_of_this_layout_opens_again(tmp_path: Path) -> None:
    path = tmp_path / "deployment.sqlite"
    Database(path).close()
    Database(path).close()


def test_a_file_of_layout_2_is_brought_up_to_date_keeping_its_nodes(tmp_path: Path) -> None:
    path = tmp_path / "deployment.sqlite"
    Database(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO system_nodes (path, state, node_exists, pending) VALUES ('/a', '{}', 1, '[7]')")
        conn.execute("ALTER TABLE system_nodes DROP COLUMN claimed")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
    Database(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("SELECT pending, claimed FROM system_nodes WHERE path = '/a'").fetchone() == ("[7]", 0)
