"""Sessions: heartbeats, expiry, the client's view of its session, and kill -9 of a client."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import faaskeeper.channels.tcp as tcp
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.client.client import SessionState
from faaskeeper.exceptions import SessionExpiredException
from faaskeeper.protocol.messages import Op, WriteRequest
from faaskeeper.watch import WatchEventType

from .conftest import local_config

HERE = Path(__file__).parent
# Sessions expire within a test, yet one in another process is not expired for answering a few
# heartbeats late on a loaded machine (each ping waits HEARTBEAT s for its answer).
HEARTBEAT = 0.5
TIMEOUT = 2.0
#: Seconds to wait for what must happen: only a failing test waits this long.
SETTLE = 30.0

pytestmark = pytest.mark.slow


@pytest.fixture
def config(tmp_path):
    cfg = local_config(tmp_path)
    cfg.heartbeat_frequency = HEARTBEAT
    cfg.session_timeout = TIMEOUT
    return cfg


def spawn(script: str, config, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / script), json.dumps(config.serialize()), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_json(proc: subprocess.Popen[str], timeout: float = 60) -> dict:
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()  # type: ignore[union-attr]
    line = lines.get(timeout=timeout)
    assert line, f"process ended: {proc.stderr.read() if proc.stderr else ''}"
    return json.loads(line)


def silence_pings(client: FaaSKeeperClient) -> Callable[[], None]:
    """Make the client stop answering heartbeats, as a frozen process would; returns the undo."""
    assert client._session is not None
    address = client._session.listener.address
    original = tcp._in_process[address]

    def handler(message: bytes) -> bytes | None:
        if json.loads(message).get("kind") == "ping":
            return None
        return original(message)

    tcp._in_process[address] = handler
    return lambda: tcp._in_process.__setitem__(address, original)


@pytest.fixture
def observer(config) -> Iterator[FaaSKeeperClient]:
    """A session without heartbeats: only the session under test can expire."""
    with FaaSKeeperClient(config, timeout=SETTLE, heartbeat=False) as client:
        yield client


def test_killed_client_loses_its_ephemeral_nodes_and_watchers_are_told(config, observer):
    proc = spawn("worker.py", config, "ephemeral-and-wait", "/member")
    try:
        assert read_json(proc)["op"] == "session"
        assert read_json(proc) == {"op": "create", "path": "/member"}
        events: queue.Queue = queue.Queue()
        assert observer.exists("/member", watch=events.put) is not None
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        event = events.get(timeout=TIMEOUT + SETTLE)
        assert event.event_type is WatchEventType.NODE_DELETED
        assert event.path == "/member"
        assert observer.exists("/member") is None
        assert observer.state is SessionState.CONNECTED
    finally:
        proc.kill()
        proc.wait()


def test_silent_client_is_suspended_then_lost(config, other):
    client = FaaSKeeperClient(config)
    states: queue.Queue[SessionState] = queue.Queue()
    client.add_listener(states.put)
    client.start()
    assert states.get(timeout=SETTLE) is SessionState.CONNECTED
    client.create("/mine", b"", ephemeral=True)
    silence_pings(client)
    seen = []
    while True:
        seen.append(states.get(timeout=TIMEOUT + SETTLE))
        if seen[-1] is SessionState.LOST:
            break
    assert set(seen) <= {SessionState.SUSPENDED, SessionState.LOST}
    assert client.session_status == "DISCONNECTED"
    with pytest.raises(SessionExpiredException):
        client.create("/after", b"")
    with pytest.raises(SessionExpiredException):
        client.get_data("/mine")
    assert other.exists("/mine") is None
    client.stop()


def test_suspended_client_reconnects_when_heartbeats_resume(tmp_path):
    cfg = local_config(tmp_path)
    cfg.heartbeat_frequency = HEARTBEAT
    cfg.session_timeout = 30
    client = FaaSKeeperClient(cfg)
    states: queue.Queue[SessionState] = queue.Queue()
    client.add_listener(states.put)
    client.start()
    try:
        assert states.get(timeout=SETTLE) is SessionState.CONNECTED
        undo = silence_pings(client)
        assert states.get(timeout=SETTLE) is SessionState.SUSPENDED
        undo()
        assert states.get(timeout=SETTLE) is SessionState.CONNECTED
        client.create("/still-here", b"")
    finally:
        client.stop()


def test_session_without_heartbeats_does_not_expire(config, other):
    quiet = FaaSKeeperClient(config, heartbeat=False)
    quiet.start()
    try:
        quiet.create("/quiet", b"", ephemeral=True)
        silence_pings(quiet)
        time.sleep(TIMEOUT + 4 * HEARTBEAT)
        assert other.exists("/quiet") is not None
        assert quiet.state is SessionState.CONNECTED
    finally:
        quiet.stop()
    assert other.exists("/quiet") is None


def test_a_session_cannot_close_or_expire_another(config, client, other):
    client.create("/theirs", b"", ephemeral=True)
    assert client._session is not None
    queue_ = client._session.deployment.writer_queue
    victim = client.session_id
    assert victim is not None
    forged = [
        WriteRequest(Op.DEREGISTER_SESSION, victim, "guessed-token", 99),
        WriteRequest(Op.DELETE, victim, "guessed-token", 100, path="/theirs"),
        WriteRequest(Op.EXPIRE_SESSION, victim, "forged-proof", 0),
    ]
    for request in forged:
        queue_.send(request.encode(), victim, f"forged-{request.op}")
    deadline = time.monotonic() + SETTLE
    while len(queue_.dead_letters()) < len(forged):
        assert time.monotonic() < deadline, queue_.dead_letters()
        time.sleep(0.05)
    reasons = [reason for _, reason in queue_.dead_letters()]
    assert sum("wrong token" in r for r in reasons) == 2
    assert sum("wrong proof" in r for r in reasons) == 1
    assert other.exists("/theirs") is not None
    assert client.create("/still-mine", b"").path == "/still-mine"


def test_leader_election_survives_kill_of_the_leader(config):
    procs = {name: spawn("election.py", config, name) for name in ("a", "b", "c")}
    try:
        candidates = {name: read_json(proc)["node"] for name, proc in procs.items()}
        order = sorted(procs, key=lambda name: candidates[name])
        assert read_json(procs[order[0]]) == {"leader": order[0]}
        procs[order[0]].send_signal(signal.SIGKILL)
        procs[order[0]].wait(10)
        assert read_json(procs[order[1]], timeout=TIMEOUT + SETTLE) == {"leader": order[1]}
        procs[order[1]].send_signal(signal.SIGKILL)
        procs[order[1]].wait(10)
        assert read_json(procs[order[2]], timeout=TIMEOUT + SETTLE) == {"leader": order[2]}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()


def test_a_thousand_clients_watching_one_node(config, client):
    client.create("/popular", b"v0")
    clients = [FaaSKeeperClient(config, heartbeat=False) for _ in range(1000)]
    events: queue.Queue = queue.Queue()
    try:
        for c in clients:
            c.start()
            c.get_data("/popular", watch=events.put)
        node = client.set_data("/popular", b"v1")
        received = [events.get(timeout=30) for _ in range(1000)]
        assert all(e.timestamp == node.stat.mzxid for e in received)
        assert all(e.event_type is WatchEventType.NODE_DATA_CHANGED for e in received)
        assert events.empty()
    finally:
        for c in clients:
            if c.session_id is not None:
                c.stop()
