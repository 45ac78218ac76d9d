"""The layout of a deployment file: its tables, and how older layouts are brought up to date."""

from __future__ import annotations

SCHEMA_VERSION = "3"
#: Layouts this version opens, each brought up to date by the statements that follow it.
MIGRATIONS = {"2": ("ALTER TABLE system_nodes ADD COLUMN claimed INTEGER NOT NULL DEFAULT 0",)}

SCHEMA = """
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


#: The tables of a deployment: a file without one of them is not one, or was truncated.
TABLES = frozenset(
    {"meta", "system_nodes", "sessions", "user_nodes", "queue_messages", "watches", "schedules", "dead_letters"}
)
