"""The deployment file: SQLite in WAL mode, one connection per thread, shared within a process.

This module is the provider's one boundary where sqlite3 errors become FaaSKeeper's exceptions.
Opening a file checks that it is a deployment (only ``create`` makes one, of a missing file);
every operation checks that the file is still the one opened (:mod:`faaskeeper_local.storage.file_identity`).
A file found removed, replaced or corrupt makes the handle unusable: every later operation fails
at once with that cause, and the handle's listeners hear of it, as they hear of a full disk.

A function invocation's changes share transactions (:meth:`Database.invocation`): each commit of
the file is a write to its WAL, and the steps of a write that a function makes back to back
(lock, push, commit, ack) need not be seen apart. They are committed together whenever anything
outside the file may learn of them (:meth:`Database.commit_pending`, before every send on the
client channel), when the function is about to wait for another one (:meth:`Database.commit_now`),
and when the invocation ends; a function that dies loses only what it had not committed, which
leaves the file as its death at an earlier step of the protocol would.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from faaskeeper.exceptions import DeploymentCorruptException, DeploymentUnusableException, ProviderException
from faaskeeper_local.storage import durability, sqlite_errors
from faaskeeper_local.storage.file_identity import FileIdentity
from faaskeeper_local.storage.schema import MIGRATIONS, SCHEMA, SCHEMA_VERSION, TABLES
from faaskeeper_local.storage.wal_guard import forbid_checkpoint

log = logging.getLogger("faaskeeper.local")

#: Seconds between two reports of a full disk to the listeners.
FULL_REPORT_INTERVAL = 0.2
#: A read looks at the files at most this often (a look is a ``stat``, a fifth of a read's time);
#: a change is always looked for before and after a commit.
READ_CHECK_INTERVAL = 0.001

_Failure = TypeVar("_Failure", bound=ProviderException)

#: Told, on a thread of its own, why the deployment file failed.
Listener = Callable[[ProviderException], None]


class _Invocation:
    """One function invocation's changes on its thread: a transaction kept open between them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        #: Whether a transaction is open, holding the file's write lock.
        self.open = False
        #: Why a change of the invocation failed: the changes it had not committed are lost, so
        #: none after may be made (its message must not be acked as done).
        self.failure: ProviderException | None = None


class Database:
    """One deployment file. Thread-safe: each thread gets its own connection."""

    def __init__(
        self, path: Path, *, create: bool = False, busy_timeout: float = 30.0, durability_mode: str | None = None
    ) -> None:
        """Open the deployment file ``path``. Only with ``create`` is a missing file (and its directory)
        created; an existing file that is not a deployment raises DeploymentCorruptException.

        ``durability_mode`` (one of :data:`durability.MODES`) is stored in the file for every process
        that opens it; without it, the file's stored mode applies (the default for files without one)."""
        self.path = path
        if durability_mode is not None and durability_mode not in durability.SYNCHRONOUS:
            raise ProviderException(
                f"Unknown durability {durability_mode!r}: expected one of {', '.join(durability.MODES)}"
            )
        #: The file's durability mode, as stored in it once opened.
        self.durability = durability_mode or durability.DEFAULT
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        # Threads of one process queue here rather than in SQLite's busy handler, which sleeps
        # in steps of milliseconds; other processes still meet SQLite's file lock.
        self._writer = threading.Lock()
        # Guards the open invocation, which a thread sending for it commits (commit_pending).
        self._invocation_guard = threading.RLock()
        self._open_invocation: _Invocation | None = None
        self._identity: FileIdentity | None = None
        self._failure: DeploymentUnusableException | None = None
        self._listeners: list[Listener] = []
        self._full_reported = float("-inf")
        self._durability_given = durability_mode is not None
        self.deployment_id = ""
        new = create and not path.exists()
        if new:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise ProviderException(f"Cannot create the deployment directory {path.parent}: {err}") from err
        # Once it exists the file is opened read-write only: a file removed meanwhile is then an error
        # rather than a new, empty deployment. An existing file is made a WAL database only once it
        # is known to be a deployment: setting the mode writes an empty file's first page.
        self._uri = f"{path.absolute().as_uri()}?mode={'rwc' if new else 'rw'}"
        self._verified = new
        try:
            self._open(new)
        except BaseException:
            self.close()
            raise

    def _open(self, new: bool) -> None:
        conn = self._connection()
        try:
            if new:
                conn.executescript(SCHEMA)
            else:
                self._verify(conn)
                conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as err:
            raise self._failed(err) from err
        self._verified = True
        self._uri = f"{self.path.absolute().as_uri()}?mode=rw"
        self._identity = FileIdentity(self.path)
        with self.transaction() as conn:
            if new:
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            (version,) = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if version in MIGRATIONS:
                for statement in MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (SCHEMA_VERSION,))
                version = SCHEMA_VERSION
            if version == SCHEMA_VERSION:
                # Deployments made before they had an id get one when first opened.
                conn.execute("INSERT OR IGNORE INTO meta VALUES ('deployment-id', ?)", (uuid.uuid4().hex,))
                (self.deployment_id,) = conn.execute("SELECT value FROM meta WHERE key = 'deployment-id'").fetchone()
                self._take_durability(conn, new)
        if version != SCHEMA_VERSION:
            raise ProviderException(
                f"The deployment file {self.path} has layout {version}; this version of FaaSKeeper needs layout "
                f"{SCHEMA_VERSION}: redeploy it with `fk deploy service --clean`"
            )
        # The level cannot change inside a transaction; later connections take it as they open.
        self._apply_durability(conn)

    def _take_durability(self, conn: sqlite3.Connection, new: bool) -> None:
        """Keep the mode given to the constructor (stored at once in a new file; in an existing one
        by :meth:`store_durability`, once the file is known to be whole), or take the one the file
        stores."""
        if self._durability_given:
            if new:
                conn.execute("INSERT INTO meta VALUES (?, ?)", (durability.DURABILITY_KEY, self.durability))
            return
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (durability.DURABILITY_KEY,)).fetchone()
        stored = row[0] if row is not None else durability.DEFAULT
        if stored not in durability.SYNCHRONOUS:
            raise ProviderException(
                f"The deployment file {self.path} stores the durability {stored!r}, which this version of "
                f"FaaSKeeper does not know (it knows {', '.join(durability.MODES)})"
            )
        self.durability = stored

    def store_durability(self) -> None:
        """Store this process's mode in the file, for every process that opens it later."""
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (durability.DURABILITY_KEY, self.durability))

    def _apply_durability(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute(f"PRAGMA synchronous={durability.SYNCHRONOUS[self.durability]}")
        except sqlite3.Error as err:
            raise self._failed(err) from err

    def _verify(self, conn: sqlite3.Connection) -> None:
        """Raise DeploymentCorruptException unless the file holds a deployment's tables and layout version."""
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted(TABLES - tables)
        if missing:
            size = self.path.stat().st_size
            found = "an empty file" if size == 0 else f"{size} bytes without the tables {', '.join(missing)}"
            raise DeploymentCorruptException(
                sqlite_errors.corruption(self.path, f"{found}: truncated, or not a FaaSKeeper deployment")
            )
        if conn.execute("SELECT 1 FROM meta WHERE key = 'schema'").fetchone() is None:
            raise DeploymentCorruptException(sqlite_errors.corruption(self.path, "its layout version is missing"))

    def check_integrity(self) -> None:
        """Raise DeploymentCorruptException if SQLite's quick check finds the file damaged; it
        reads the whole file (about 40 ms for 100 MB)."""
        problems = [row[0] for row in self.query("PRAGMA quick_check") if row[0] != "ok"]
        if problems:
            found = "; ".join(line for problem in problems[:3] for line in problem.splitlines()[-1:])
            raise self._fail(DeploymentCorruptException(sqlite_errors.corruption(self.path, found)))

    def verify(self) -> None:
        """Raise DeploymentUnusableException if the file can no longer be used, looking at the files now."""
        self._raise_failure()
        self._check_identity()

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self._raise_failure()
            if self._identity is not None:
                self._check_identity()  # a thread's new connection opens the file the others use
            try:
                conn = sqlite3.connect(
                    self._uri, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False, uri=True
                )
                with self._guard:
                    self._connections.append(conn)
                if self._verified:
                    conn.execute("PRAGMA journal_mode=WAL")
                # Until the file is open, the mode is the one given or the default; the first
                # connection takes the file's own once it has read it (_open).
                conn.execute(f"PRAGMA synchronous={durability.SYNCHRONOUS[self.durability]}")
            except sqlite3.Error as err:
                if sqlite_errors.is_corruption(err):
                    raise self._failed(err) from err
                raise ProviderException(f"Cannot open the deployment file {self.path}: {err}") from err
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, *, report_full: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction, holding the file's write lock from the start.

        A full disk fails it with ProviderException naming the cause, and, with ``report_full``,
        is reported to the listeners: the functions' changes report it, so that the clients
        waiting for them hear why; a change whose caller is told at once need not.

        Within an :meth:`invocation` the change joins the invocation's open transaction instead
        of committing at once; a change that raises loses what the invocation had not committed,
        and fails its later changes."""
        invocation: _Invocation | None = getattr(self._local, "invocation", None)
        if invocation is not None:
            with self._joined(invocation, report_full) as conn:
                yield conn
            return
        conn = self._connection()
        with self._writer:
            self._raise_failure()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise self._failed(err, report_full=report_full, consequence="the change was not made") from err
            try:
                self._check_identity()
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as err:
                _rollback(conn)
                raise self._failed(err, report_full=report_full, consequence="the change was not made") from err
            except BaseException:
                _rollback(conn)
                raise
        # Checked again once committed: a commit that returns was made while the file was the deployment.
        self._check_identity()

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One read-only statement (a consistent snapshot; within an :meth:`invocation`, one that
        sees the invocation's changes)."""
        invocation: _Invocation | None = getattr(self._local, "invocation", None)
        if invocation is None:
            return self._query(sql, params)
        with self._invocation_guard:
            _raise_invocation_failure(invocation)
            return self._query(sql, params)

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        conn = self._connection()
        self._raise_failure()
        try:
            rows = conn.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise self._failed(err) from err
        self._check_identity(unless_within=READ_CHECK_INTERVAL)
        return rows

    # -- invocations ----------------------------------------------------------------------

    @contextmanager
    def invocation(self) -> Iterator[None]:
        """The block's changes on this thread, a function invocation's, share transactions: one
        stays open from the first change until :meth:`commit_pending` or :meth:`commit_now`, or
        the end of the block, commits it. A block left by an exception commits what it changed,
        as the changes' own transactions would have; one left by a function's death
        (a ``BaseException`` that is no ``Exception``, as a fault hook's crash) loses what it
        had not committed, as a process killed there would."""
        if getattr(self._local, "invocation", None) is not None:
            yield  # the enclosing invocation decides
            return
        invocation = _Invocation(self._connection())
        self._local.invocation = invocation
        try:
            yield
        except Exception:
            self._commit_invocation(invocation, quiet=True)
            raise
        except BaseException:
            self._abort_invocation(invocation)
            raise
        else:
            self._commit_invocation(invocation)
        finally:
            self._local.invocation = None

    def commit_pending(self) -> None:
        """Commit what the open invocation (of whichever thread) changed so far: called before
        anything outside the file may learn of it, such as a reply it reports."""
        with self._invocation_guard:
            invocation = self._open_invocation
        if invocation is not None:
            self._commit_invocation(invocation)

    def commit_now(self) -> None:
        """Commit what this thread's invocation changed so far, releasing the file's write lock:
        called where its function is about to wait for another function's change."""
        invocation: _Invocation | None = getattr(self._local, "invocation", None)
        if invocation is not None:
            self._commit_invocation(invocation)

    @contextmanager
    def _joined(self, invocation: _Invocation, report_full: bool) -> Iterator[sqlite3.Connection]:
        with self._invocation_guard:
            _raise_invocation_failure(invocation)
            conn = self._connection()  # the invocation's: it runs on this thread
            self._begin_invocation(invocation, report_full)
            try:
                yield conn
            except sqlite3.Error as err:
                # SQLite may have rolled the whole transaction back (a full disk, an I/O error).
                self._abort_invocation(invocation)
                failure = self._failed(err, report_full=report_full, consequence="the change was not made")
                invocation.failure = failure
                raise _copy(failure) from err
            except BaseException as err:
                # A change cannot be undone alone: the invocation loses what it had not committed,
                # as if its function had died before the change.
                self._abort_invocation(invocation)
                invocation.failure = ProviderException(
                    f"A change to the deployment file {self.path} failed ({err!r}); the function's changes "
                    "since its last commit were not made"
                )
                raise

    def _begin_invocation(self, invocation: _Invocation, report_full: bool) -> None:
        if invocation.open:
            return
        self._writer.acquire()
        try:
            self._raise_failure()
            try:
                invocation.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as err:
                raise self._failed(err, report_full=report_full, consequence="the change was not made") from err
            try:
                self._check_identity()
            except BaseException:
                _rollback(invocation.conn)
                raise
        except BaseException:
            self._writer.release()
            raise
        invocation.open = True
        self._open_invocation = invocation

    def _commit_invocation(self, invocation: _Invocation, *, quiet: bool = False) -> None:
        """Commit the invocation's open transaction; ``quiet``: a failure is logged, not raised
        (the invocation already fails with another exception)."""
        with self._invocation_guard:
            if not invocation.open:
                return
            invocation.open = False
            self._open_invocation = None
            try:
                invocation.conn.execute("COMMIT")
            except sqlite3.Error as err:
                _rollback(invocation.conn)
                failure = self._failed(err, report_full=True, consequence="the change was not made")
                invocation.failure = failure
                if quiet:
                    log.warning("a function's changes were lost: %s", failure)
                    return
                raise _copy(failure) from err
            finally:
                self._writer.release()
        self._check_identity()

    def _abort_invocation(self, invocation: _Invocation) -> None:
        with self._invocation_guard:
            if not invocation.open:
                return
            invocation.open = False
            self._open_invocation = None
            _rollback(invocation.conn)
            self._writer.release()

    # -- failures -------------------------------------------------------------------------

    def on_failure(self, listener: Listener) -> Callable[[], None]:
        """Tell ``listener`` (on a thread of its own) when the file becomes unusable, once, and when
        changes that report a full disk fail (at most every ``FULL_REPORT_INTERVAL``); returns
        what stops that."""
        with self._guard:
            self._listeners.append(listener)

        def cancel() -> None:
            with self._guard:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return cancel

    def _failed(
        self, err: sqlite3.Error, *, report_full: bool = False, consequence: str | None = None
    ) -> ProviderException:
        """The exception that reports ``err``; a corrupt file makes the handle unusable."""
        if sqlite_errors.is_corruption(err):
            if self._identity is not None:
                try:
                    self._identity.check()  # a file replaced under SQLite reads as damaged
                except DeploymentUnusableException as changed:
                    return self._fail(changed)
            return self._fail(DeploymentCorruptException(sqlite_errors.corruption(self.path, str(err))))
        cause = sqlite_errors.cause(self.path, err, self._busy_timeout)
        if report_full and sqlite_errors.is_disk_full(err):
            self._report_full(cause)
        if consequence is not None and sqlite_errors.primary_code(err) == sqlite_errors.SQLITE_IOERR:
            # An I/O error may strike after the commit record is written (growing the WAL index).
            consequence = "the change may or may not have been made"
        return ProviderException(f"{cause}; {consequence}" if consequence else cause)

    def _fail(self, failure: DeploymentUnusableException) -> DeploymentUnusableException:
        """Make the handle unusable for ``failure`` (the first one found stays); a copy to raise."""
        with self._guard:
            first = self._failure is None
            if first:
                self._failure = failure
            recorded = self._failure
            listeners = list(self._listeners)
        assert recorded is not None
        if first:
            if self._identity is not None and self._identity.index_lost:
                forbid_checkpoint(self.path)
            _notify(listeners, failure)
        return _copy(recorded)

    def _report_full(self, cause: str) -> None:
        now = time.monotonic()
        with self._guard:
            if now - self._full_reported < FULL_REPORT_INTERVAL:
                return
            self._full_reported = now
            listeners = list(self._listeners)
        notice = ProviderException(
            f"{cause}: the functions cannot go on, so the calls in flight fail; a write among them may still "
            "take effect once space is freed"
        )
        _notify(listeners, notice)

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise _copy(self._failure)

    def _check_identity(self, *, unless_within: float = 0.0) -> None:
        assert self._identity is not None
        try:
            self._identity.check(unless_within=unless_within)
        except DeploymentUnusableException as changed:
            raise self._fail(changed) from None

    def close(self) -> None:
        with self._guard:
            connections, self._connections = self._connections, []
            self._listeners = []
        for conn in connections:
            conn.close()
        self._local = threading.local()


@contextmanager
def writes_held(path: Path, busy_timeout: float = 30.0) -> Iterator[None]:
    """Hold the write lock of the database file ``path`` for the block, so that no process commits
    to it meanwhile: deleted in the block, the file takes every commit made before with it, and
    processes that still have it open find it gone before their next commit. A file that is
    missing, or not a database, is not locked."""
    if not path.exists():
        yield
        return
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=rw", timeout=busy_timeout, uri=True)
    except sqlite3.Error as err:
        log.info("%s is not locked: %s", path, err)
        yield
        return
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            log.info("%s is not locked: %s", path, err)
        yield
    finally:
        _rollback(conn)
        conn.close()


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is left of a transaction: SQLite has rolled back one whose COMMIT failed for
    a full disk or an I/O error itself, and a second error would hide the first."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error as err:
            log.warning("rolling back failed: %s", err)


def _copy(failure: _Failure) -> _Failure:
    """A fresh exception like ``failure``, so that raising it again starts a new traceback."""
    return type(failure)(str(failure))


def _raise_invocation_failure(invocation: _Invocation) -> None:
    if invocation.failure is not None:
        raise _copy(invocation.failure)


def _notify(listeners: list[Listener], error: ProviderException) -> None:
    if not listeners:
        return

    def tell() -> None:
        for listener in listeners:
            try:
                listener(error)
            except Exception:
                log.exception("a deployment failure listener failed")

    threading.Thread(target=tell, name="faaskeeper-local-failure", daemon=True).start()
