"""The deployment file: SQLite in WAL mode, one connection per thread, shared within a process.

This module is the provider's one boundary where sqlite3 errors become ProviderException.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from faaskeeper.exceptions import ProviderException

SCHEMA_VERSION = "3"
#: Layouts this version opens, each brought up to date by the statements that follow it.
_MIGRATIONS = {"2": ("ALTER TABLE system_nodes ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0",)}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS system_nodes (
    path TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    node_exists INTEGER NOT NULL,
    ephemeral_owner TEXT,
    lock_token TEXT,
    lock_ts REAL,
    pending TEXT NOT NULL DEFAULT '[]',
    requests TEXT NOT NULL DEFAULT '{}',
    claimed INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS system_nodes_owner ON system_nodes(ephemeral_owner)
    WHERE ephemeral_owner IS NOT NULL;
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    last_seq INTEGER NOT NULL,
    last_outcome TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS user_nodes (
    path TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    meta TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    grp TEXT NOT NULL,
    dedup TEXT NOT NULL,
    body BLOB NOT NULL,
    visible_at REAL NOT NULL,
    receipt TEXT,
    receive_count INTEGER NOT NULL DEFAULT 0,
    sent_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_order ON queue_messages(queue, grp, seq);
CREATE INDEX IF NOT EXISTS queue_visible ON queue_messages(queue, visible_at);
CREATE UNIQUE INDEX IF NOT EXISTS queue_dedup ON queue_messages(queue, dedup);
CREATE TABLE IF NOT EXISTS watches (
    path TEXT NOT NULL,
    kind TEXT NOT NULL,
    session_id TEXT NOT NULL,
    counter INTEGER NOT NULL,
    address TEXT NOT NULL,
    PRIMARY KEY (path, kind, session_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS watches_session ON watches(session_id);
CREATE TABLE IF NOT EXISTS schedules (name TEXT PRIMARY KEY, next_run REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    grp TEXT NOT NULL,
    body BLOB NOT NULL,
    reason TEXT NOT NULL,
    failed_at REAL NOT NULL
);
"""


class Database:
    """One deployment file. Thread-safe: each thread gets its own connection."""

    def __init__(self, path: Path, *, create: bool = False, busy_timeout: float = 30.0) -> None:
        """Open the file ``path``; only with ``create`` is a missing file (and its directory) created."""
        self.path = path
        self._busy_timeout = busy_timeout
        # Once it exists the file is opened read-write only: a file removed meanwhile is then an error
        # rather than a new, empty deployment.
        self._uri = f"{path.absolute().as_uri()}?mode={'rwc' if create else 'rw'}"
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        # Threads of one process queue here rather than in SQLite's busy handler, which sleeps
        # in steps of milliseconds; other processes still meet SQLite's file lock.
        self._writer = threading.Lock()
        if create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ProviderException(f"Cannot create the deployment directory {path.parent}: {err}") from err
        try:
            self._connection().executescript(_SCHEMA)
        except sqlite3.Error as err:
            raise ProviderException(f"Cannot create the deployment file {path}: {err}") from err
        self._uri = f"{path.absolute().as_uri()}?mode=rw"
        with self.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if version in _MIGRATIONS:
                for statement in _MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
                version = SCHEMA_VERSION
        if version != SCHEMA_VERSION:
            raise ProviderException(
                f"The deployment file {path} has layout {version}; this version of FaaSKeeper needs layout "
                f"{SCHEMA_VERSION}: redeploy it with `fk deploy service --clean`"
            )

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self._uri, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False, uri=True
                )
                conn.execute("PRAGMA journal_mode=WAL")
                # NORMAL survives the death of any process (the WAL is in the OS's hands); only a
                # power loss could drop the last transactions.
                conn.execute("PRAGMA synchronous=NORMAL")
            except sqlite3.Error as err:
                raise ProviderException(f"Cannot open the deployment file {self.path}: {err}") from err
            self._local.conn = conn
            with self._guard:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, holding the file's write lock from the start."""
        conn = self._connection()
        with self._writer:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise ProviderException(f"Deployment file {self.path} is unavailable: {err}") from err
            try:
                yield conn
            except sqlite3.Error as err:
                conn.execute("ROLLBACK")
                raise ProviderException(f"Deployment file {self.path} failed: {err}") from err
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                conn.execute("ROLLBACK")
                raise ProviderException(f"Deployment file {self.path} failed to commit: {err}") from err

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One read-only statement (a consistent snapshot)."""
        try:
            return self._connection().execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise ProviderException(f"Deployment file {self.path} failed: {err}") from err

    def close(self) -> None:
        with self._guard:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
