"""Where a session ends while its client writes: nothing of it takes effect after its close, and
nothing of it is left behind."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import faaskeeper_local.deployment as local_deployment
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException, SessionClosingException

from .conftest import local_config


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return local_config(tmp_path)


@pytest.fixture
def observer(config: Config) -> Iterator[FaaSKeeperClient]:
    with FaaSKeeperClient(config, timeout=20) as client:
        yield client


def test_ephemeral_creates_racing_stop_leave_no_node_behind(
    config: Config, observer: FaaSKeeperClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Another thread keeps creating ephemeral nodes while the session stops: each create is
    either sent before the close (and its node goes with the session) or refused unsent."""
    caplog.set_level(logging.CRITICAL, logger="faaskeeper")
    left: list[str] = []
    for attempt in range(10):
        client = FaaSKeeperClient(config, timeout=20)
        client.start()
        go = threading.Event()

        def spam(attempt: int = attempt, client: FaaSKeeperClient = client, go: threading.Event = go) -> None:
            go.wait()
            for i in range(10_000):
                try:
                    client.create_async(f"/e{attempt}-{i}", b"", ephemeral=True)
                except FaaSKeeperException:
                    return

        spammer = threading.Thread(target=spam)
        spammer.start()
        go.set()
        time.sleep(0.002)
        with contextlib.suppress(FaaSKeeperException):
            client.stop()
        spammer.join(20)
        left += [n.path for n in observer.get_children("/") if n.path.startswith(f"/e{attempt}-")]
    assert left == [], f"ephemeral nodes outlived their closed sessions: {left[:5]} ({len(left)})"


def test_a_call_made_while_the_close_is_processed_is_refused_and_never_sent(
    config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    processing, release = threading.Event(), threading.Event()

    def hold_the_close(point: str) -> None:
        if point == "writer.close.ephemerals":
            processing.set()
            release.wait(20)

    monkeypatch.setattr(local_deployment, "process_faults", hold_the_close)
    client = FaaSKeeperClient(config, timeout=20)
    client.start()
    client.create("/owned", ephemeral=True)
    stopping = threading.Thread(target=client.stop)
    stopping.start()
    try:
        assert processing.wait(20), "the close reached the writer"
        with pytest.raises(SessionClosingException):
            client.create("/late", b"", ephemeral=True)
        with pytest.raises(SessionClosingException):
            client.set_data("/owned", b"late")
    finally:
        release.set()
        stopping.join(20)
    with FaaSKeeperClient(config, timeout=20) as observer:
        assert observer.exists("/late") is None
        assert observer.exists("/owned") is None
