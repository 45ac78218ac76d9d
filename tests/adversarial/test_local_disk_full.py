"""A local deployment on a disk that fills up: every failure names the full disk, a write
reported as not made never takes effect, and one whose outcome is unknown says so.

Two disks: a real one, a small tmpfs mounted for the test (where this process may mount one:
root, and a kernel that allows it), so that SQLite meets ENOSPC writing its WAL; and, anywhere,
SQLite's own limit on the file's pages (``PRAGMA max_page_count`` on every connection), which
fails a change the same way ("database or disk is full") before it reaches the file.
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import faaskeeper_local.deployment as local_deployment
import faaskeeper_local.storage.database as database
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.testing.support import wait_until
from faaskeeper_local.provider import LocalProvider

from .conftest import local_config

NOT_MADE = "is full (database or disk is full); the change was not made"
UNKNOWN = (
    "is full (database or disk is full): the functions cannot go on, so the calls in flight fail; a write "
    "among them may still take effect once space is freed"
)


class SmallDisk:
    """Where a deployment lives, and how to fill and free the space it has."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fill(self) -> None:
        raise NotImplementedError

    def free(self) -> None:
        raise NotImplementedError


class Tmpfs(SmallDisk):
    """A 4 MiB tmpfs, filled by a file written until ENOSPC."""

    def fill(self) -> None:
        descriptor = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            stopped = _write_until_it_fails(descriptor)
        finally:
            os.close(descriptor)
        assert stopped.errno == errno.ENOSPC, stopped

    def free(self) -> None:
        (self.path / "filler").unlink()


def _write_until_it_fails(descriptor: int) -> OSError:
    while True:
        try:
            os.write(descriptor, bytes(65536))
        except OSError as err:
            return err


class PageLimit(SmallDisk):
    """SQLite's page limit, set by each connection before each use to the file's size when full."""

    limit = 2**31 - 2

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        super().__init__(path)
        opened = database.Database._connection

        def limited(db: database.Database) -> sqlite3.Connection:
            conn = opened(db)
            conn.execute(f"PRAGMA max_page_count = {PageLimit.limit}")
            return conn

        monkeypatch.setattr(database.Database, "_connection", limited)
        monkeypatch.setattr(PageLimit, "limit", PageLimit.limit)

    def fill(self) -> None:
        [deployment] = self.path.glob("*/faaskeeper.sqlite3")
        conn = sqlite3.connect(deployment)
        try:
            (pages,) = conn.execute("PRAGMA page_count").fetchone()
        finally:
            conn.close()
        PageLimit.limit = pages

    def free(self) -> None:
        PageLimit.limit = 2**31 - 2


@pytest.fixture(params=["tmpfs", "page-limit"])
def small_disk(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    path = tmp_path / "disk"
    path.mkdir()
    if request.param == "page-limit":
        yield PageLimit(path, monkeypatch)
        return
    mount = shutil.which("mount")
    if os.geteuid() != 0 or mount is None:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    mounted = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"this machine does not let the test mount a tmpfs: {mounted.stderr.strip()}")
    try:
        yield Tmpfs(path)
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _outcome(err: ProviderException) -> str:
    message = str(err)
    assert NOT_MADE in message or UNKNOWN in message, message
    return "not made" if NOT_MADE in message else "unknown"


def test_writes_on_a_full_disk_fail_naming_it_and_those_not_made_never_take_effect(small_disk: SmallDisk) -> None:
    config = local_config(small_disk.path)
    client = FaaSKeeperClient(config, timeout=60)
    client.start()
    client.create("/a", b"before")
    small_disk.fill()
    outcomes: dict[str, str] = {}
    for i in range(12):
        path = f"/full-{i}"
        try:
            client.create(path, bytes(20_000))
            outcomes[path] = "acknowledged"
        except ProviderException as err:  # anything else (sqlite3's errors, a timeout) fails the test
            outcomes[path] = _outcome(err)
    assert set(outcomes.values()) - {"acknowledged"}, f"the disk never filled: {outcomes}"
    try:
        client.stop()
    except ProviderException as err:
        _outcome(err)
    small_disk.free()
    with FaaSKeeperClient(config, timeout=60) as reader:
        wait_until(lambda: _settled(config), 60, "the queues to empty once space is free", interval=0.2)
        for path, outcome in outcomes.items():
            found = reader.exists(path) is not None
            assert found or outcome != "acknowledged", f"{path} was acknowledged and is missing"
            assert not found or outcome != "not made", f"{path} was reported not made and took effect"
        reader.create("/after", b"space again")
        assert reader.get_data("/a").data == b"before"


def test_a_write_in_flight_when_the_disk_fills_is_answered_unknown_not_left_to_time_out(
    small_disk: SmallDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = local_config(small_disk.path)
    locked, release = threading.Event(), threading.Event()

    def hold_the_writer(point: str) -> None:
        if point == "writer.locked" and not release.is_set():
            locked.set()
            release.wait(30)

    monkeypatch.setattr(local_deployment, "process_faults", hold_the_writer)
    client = FaaSKeeperClient(config, timeout=60)
    client.start()
    in_flight = client.create_async("/in-flight", bytes(20_000))
    assert locked.wait(30), "the writer took the create"
    small_disk.fill()
    release.set()  # the writer now pushes the create to the distributor: the disk is full
    with pytest.raises(ProviderException) as answered:
        in_flight.get(50)  # well before the client's 60 s timeout
    assert UNKNOWN in str(answered.value)
    small_disk.free()
    wait_until(lambda: _settled(config), 60, "the queues to empty once space is free", interval=0.2)
    client.create("/after", b"space again")
    client.stop()


def _settled(config: Config) -> bool:
    status = LocalProvider().status(config)
    return all(queue["waiting"] == 0 and queue["in_flight"] == 0 for queue in status.get("queues", []))
