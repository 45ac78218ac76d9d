"""The WAL index (``faaskeeper.sqlite3-shm``) deleted under a running client.

SQLite keeps using the index it mapped; a process that opens the deployment afterwards builds a
new one from the WAL, and the two no longer see each other's writes. The process that lost its
index refuses every call from then on, so no write is acknowledged that others cannot see.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.exceptions import DeploymentUnusableException

from .conftest import ClientProcess, local_config

LOST = r"faaskeeper\.sqlite3-shm was deleted or replaced while in use: this process would no longer see the writes"


def test_a_process_whose_wal_index_was_deleted_acknowledges_nothing_others_cannot_see(
    tmp_path: Path, client_process: Callable[..., ClientProcess]
) -> None:
    config = local_config(tmp_path)
    index = tmp_path / "adversarial" / "faaskeeper.sqlite3-shm"
    first = FaaSKeeperClient(config, timeout=30)
    first.start()
    first.create("/before", b"1")
    os.unlink(index)
    second = client_process(config, "create", "/second")
    second.finish()
    assert [e["path"] for e in second.events if e["event"] == "ack"] == ["/second"]
    with pytest.raises(DeploymentUnusableException, match=LOST):
        first.create("/first", b"2")
    with pytest.raises(DeploymentUnusableException, match=LOST):
        first.get_data("/second")
    with pytest.raises(DeploymentUnusableException):
        first.stop()
    # The process that lost its index does not checkpoint the WAL with it when it lets go: a later
    # client builds the index again from the WAL and finds what the other process acknowledged.
    with FaaSKeeperClient(config, timeout=30) as later:
        assert sorted(n.path for n in later.get_children("/")) == ["/before", "/second"]


def test_a_deleted_wal_index_is_noticed_before_anything_else_opens_the_deployment(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    os.unlink(tmp_path / "adversarial" / "faaskeeper.sqlite3-shm")
    with pytest.raises(DeploymentUnusableException, match=LOST):
        client.create("/after", b"")
    with pytest.raises(DeploymentUnusableException):
        client.stop()
    with FaaSKeeperClient(config, timeout=30) as later:
        assert later.exists("/after") is None


def test_a_deleted_write_ahead_log_stops_its_process_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    client.create("/acknowledged", b"only in the WAL yet")
    os.unlink(tmp_path / "adversarial" / "faaskeeper.sqlite3-wal")
    with pytest.raises(
        DeploymentUnusableException, match=r"faaskeeper\.sqlite3-wal was deleted or replaced while in use"
    ):
        client.create("/after", b"")
    with pytest.raises(DeploymentUnusableException):
        client.stop()
    # The process still held the log it wrote: closing, it copied the log into the file.
    with FaaSKeeperClient(config, timeout=30) as later:
        assert later.get_data("/acknowledged").data == b"only in the WAL yet"
        assert later.exists("/after") is None
