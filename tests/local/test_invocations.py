"""A function invocation's changes to the deployment file share transactions, committed before
anything leaves the process and undone only where a dying function would lose them."""

from __future__ import annotations

import collections
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.storage import Lock
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper_local.functions import CommittingChannel, committing_faults
from faaskeeper_local.storage.database import Database
from faaskeeper_local.storage.system import LocalSystemStorage


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "deployment.sqlite", create=True)
    yield database
    database.close()


def _put(db: Database, key: str) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES (?, 'v')", (key,))


def _stored(db: Database) -> set[str]:
    """The test keys another connection, in another process's place, finds committed."""
    with sqlite3.connect(db.path) as conn:
        return {key for (key,) in conn.execute("SELECT key FROM meta WHERE key LIKE 'k%'")}


def test_changes_of_an_invocation_are_committed_together_when_it_ends(db: Database) -> None:
    with db.invocation():
        _put(db, "k1")
        _put(db, "k2")
        assert _stored(db) == set(), "nothing is committed before the invocation ends"
        assert {r[0] for r in db.query("SELECT key FROM meta WHERE key LIKE 'k%'")} == {"k1", "k2"}, (
            "the invocation reads its own changes"
        )
    assert _stored(db) == {"k1", "k2"}


def _put_and_refuse(db: Database, key: str) -> None:
    with db.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES (?, 'v')", (key,))
        raise ValueError("refused")


def test_a_change_that_raises_loses_what_the_invocation_had_not_committed(db: Database) -> None:
    with db.invocation():
        _put(db, "k1")
        db.commit_pending()
        _put(db, "k2")
        with pytest.raises(ValueError, match="refused"):
            _put_and_refuse(db, "k3")
        # As if the function had died before the change: the message it handles is not acked.
        with pytest.raises(ProviderException, match="refused"):
            _put(db, "k4")
    assert _stored(db) == {"k1"}
    _put(db, "k5")
    assert _stored(db) == {"k1", "k5"}


def _invocation_ending_with(db: Database, end: BaseException) -> None:
    """An invocation that changes k1, commits it, changes k2 and is left by ``end``."""
    with db.invocation():
        _put(db, "k1")
        db.commit_pending()
        _put(db, "k2")
        raise end


def test_an_invocation_left_by_an_exception_keeps_its_changes(db: Database) -> None:
    with pytest.raises(RuntimeError):
        _invocation_ending_with(db, RuntimeError("the handler failed"))
    assert _stored(db) == {"k1", "k2"}


def test_a_function_dying_loses_only_what_it_had_not_committed(db: Database) -> None:
    with pytest.raises(FunctionCrash):
        _invocation_ending_with(db, FunctionCrash("killed"))
    assert _stored(db) == {"k1"}
    _put(db, "k3")  # the file's write lock went with the dead invocation
    assert _stored(db) == {"k1", "k3"}


def test_after_a_failed_change_the_invocation_changes_nothing_more(db: Database) -> None:
    with db.invocation():
        _put(db, "k1")
        with pytest.raises(ProviderException), db.transaction() as conn:
            conn.execute("INSERT INTO no_such_table VALUES (1)")
        # Its earlier change is lost with the transaction: the message it handles must not be acked.
        with pytest.raises(ProviderException, match="no such table"):
            _put(db, "k2")
    assert _stored(db) == set()
    _put(db, "k3")
    assert _stored(db) == {"k3"}


class _Recorder(ChannelSender):
    """Records, at each send, what another process would find committed."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.seen: list[set[str]] = []

    def send(self, address: str, message: bytes) -> None:
        self.seen.append(_stored(self.db))

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        self.send(address, message)
        return None


def test_a_send_from_another_thread_finds_the_invocation_committed(db: Database) -> None:
    recorder = _Recorder(db)
    channel = CommittingChannel(recorder, db)
    with db.invocation():
        _put(db, "k1")
        # As the watch function's pool sends for the distributor, which waits for it.
        sender = threading.Thread(target=channel.send, args=("127.0.0.1:1", b"notification"))
        sender.start()
        sender.join(10)
        _put(db, "k2")
        channel.send("127.0.0.1:1", b"reply")
    assert recorder.seen == [{"k1"}, {"k1", "k2"}]


def test_a_fault_hook_finds_the_step_before_it_committed(db: Database) -> None:
    seen: list[set[str]] = []
    fault = committing_faults(lambda point: seen.append(_stored(db)), db)
    assert fault is not None
    with db.invocation():
        _put(db, "k1")
        fault("writer.pushed")
    assert seen == [{"k1"}]


def _write_lock_free(db: Database) -> bool:
    """Whether another process could begin a change of the file now."""
    other = sqlite3.connect(db.path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def test_a_writer_backing_off_from_a_held_lock_holds_nothing_open(db: Database) -> None:
    system = LocalSystemStorage(db)
    assert system.lock_node("/held", Lock("other", time.time()), 5) is not None
    mine = Lock("mine", time.time())
    with db.invocation():
        assert system.lock_node("/a", mine, 5) is not None
        assert not _write_lock_free(db), "the invocation's change is open"
        assert system.lock_node("/held", mine, 5) is None
        system.unlock_node("/a", mine)
        # The writer sleeps before it tries again: the other writer can commit and unlock meanwhile.
        assert _write_lock_free(db)
        with sqlite3.connect(db.path) as conn:
            locked = conn.execute("SELECT path FROM system_nodes WHERE lock_token IS NOT NULL").fetchall()
        assert locked == [("/held",)]


def test_a_write_takes_a_handful_of_commits(config: Config) -> None:
    """The client's send, the writer's receive, the writer's steps with the distributor's
    receive, the distributor's steps before its reply, and its ack: not one per step."""
    commits: collections.Counter[str] = collections.Counter()
    connect = sqlite3.connect

    def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(lambda sql: commits.update([sql.split()[0].upper()]) if sql.strip() else None)
        return conn

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sqlite3, "connect", traced)
        with FaaSKeeperClient(config, timeout=20) as client:
            client.create("/n", b"0")
            writes = 50
            before = commits["COMMIT"]
            for i in range(writes):
                client.set_data("/n", str(i).encode())
            made = commits["COMMIT"] - before
    # Each step committing on its own made ten; a heartbeat may add a few.
    assert made <= writes * 5 + 10, f"{made / writes:.1f} commits per set_data"
