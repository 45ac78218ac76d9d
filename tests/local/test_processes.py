"""Several OS processes on one local deployment, and kill -9 of all of them mid-stream."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper_local.deployment import LocalDeployment
from faaskeeper_local.provider import LocalProvider
from faaskeeper_local.settings import LocalSettings

WORKER = str(Path(__file__).with_name("worker.py"))
#: Seconds to wait for what must happen: only a failing test waits this long.
SETTLE = 60.0

pytestmark = pytest.mark.slow


def spawn(config, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, json.dumps(config.serialize()), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def records(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def run_script(config, *ops: dict) -> list[dict]:
    proc = spawn(config, "script", *(json.dumps(op) for op in ops))
    out, err = proc.communicate(timeout=SETTLE)
    assert proc.returncode == 0, err
    return records(out)[1:]


class Output:
    """What a worker prints, collected as it prints it."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._collect, args=(proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._collect, args=(proc.stderr, self.errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _collect(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line)

    def writes(self) -> list[dict]:
        """The writes acknowledged so far (a line cut short by a kill is none)."""
        complete = "".join(line for line in self.lines if line.endswith("\n"))
        return [r for r in records(complete) if r["op"] in ("create", "set")]

    def finish(self) -> None:
        for reader in self._readers:
            reader.join(SETTLE)


def test_two_processes_share_one_deployment(config, client):
    first = run_script(
        config,
        {"op": "create", "path": "/app", "data": "v0"},
        {"op": "create", "path": "/app/config", "data": "a"},
        {"op": "create", "path": "/app/lock-", "sequential": True},
        {"op": "create", "path": "/app/config", "data": "dup"},
        {"op": "set", "path": "/app/config", "data": "b", "version": 0},
    )
    assert [r["ok"] for r in first[:5]] == [True, True, True, False, True]
    assert first[2]["path"] == "/app/lock-0000000001"
    assert first[3]["error"] == "NodeExistsException"

    second = run_script(
        config,
        {"op": "get", "path": "/app/config"},
        {"op": "set", "path": "/app/config", "data": "c", "version": 0},
        {"op": "create", "path": "/app/lock-", "sequential": True},
        {"op": "children", "path": "/app"},
        {"op": "delete", "path": "/app"},
        {"op": "create", "path": "/app/lock-0000000001/x"},
    )
    assert second[0] == {"op": "get", "path": "/app/config", "data": "b", "ok": True}
    assert second[1]["error"] == "BadVersionError"
    assert second[2]["path"] == "/app/lock-0000000002"
    assert second[3]["children"] == ["/app/config", "/app/lock-0000000001", "/app/lock-0000000002"]
    assert second[4]["error"] == "NotEmptyException"
    assert second[5]["ok"] is True
    assert client.get_data("/app/config").data == b"b"
    assert client.exists("/app/lock-0000000001/x") is not None


def test_ephemeral_node_vanishes_for_every_process_when_session_stops(config, client):
    out = run_script(config, {"op": "create", "path": "/eph", "ephemeral": True}, {"op": "get", "path": "/eph"})
    assert out[0]["ok"]
    assert out[1]["ok"]
    assert out[-1] == {"op": "stopped"}
    assert client.exists("/eph") is None


def test_kill_all_processes_mid_stream_loses_no_acknowledged_write(config):
    # The queues are empty only once the setup session's close is done, which waits for its
    # leases to run out, a session timeout after it: a short one keeps the test short.
    config.heartbeat_frequency, config.session_timeout = 1.0, 4.0
    setup = FaaSKeeperClient(config)
    setup.start()
    setup.create("/s1", b"")
    setup.create("/s2", b"")
    setup.stop()

    workers = [spawn(config, "stream", "/s1"), spawn(config, "stream", "/s2")]
    outputs = [Output(proc) for proc in workers]
    # Both streams are in full flow when they are killed, however long they took to start.
    deadline = time.monotonic() + SETTLE
    while min(len(output.writes()) for output in outputs) <= 10:
        assert all(proc.poll() is None for proc in workers), "".join(e for o in outputs for e in o.errors)
        assert time.monotonic() < deadline, "the streams never got going"
        time.sleep(0.05)
    for proc in workers:
        proc.send_signal(signal.SIGKILL)
    acked: dict[str, list[dict]] = {}
    for proc, output, prefix in zip(workers, outputs, ["/s1", "/s2"], strict=True):
        proc.wait(SETTLE)
        output.finish()
        assert proc.returncode == -signal.SIGKILL
        acked[prefix] = output.writes()

    # Restart: a new process's functions pick up what the dead ones left in flight.
    client = FaaSKeeperClient(config)
    client.start()
    try:
        for prefix, ops in acked.items():
            for op in ops:
                if op["op"] == "create":
                    node = client.get_data(op["path"])
                    assert node.stat.czxid == op["zxid"]
            last_set = max((op for op in ops if op["op"] == "set"), key=lambda op: op["version"])
            # The last acknowledged set_data is there, or a later one that was in flight.
            current = client.exists(prefix)
            assert current is not None
            assert current.stat.version >= last_set["version"]
        deployment = LocalDeployment(config, LocalProvider().open(config).settings)
        try:
            deadline = time.monotonic() + SETTLE
            while deployment.writer_queue.depth() or deployment.distributor_queue.depth():
                assert time.monotonic() < deadline, "queues did not drain after restart"
                time.sleep(0.1)
            rows = deployment.system_storage._db.query("SELECT path FROM system_nodes WHERE lock_token IS NOT NULL")
            assert rows == [], f"locks left behind: {rows}"
            assert deployment.writer_queue.dead_letters() == []
            assert deployment.distributor_queue.dead_letters() == []
        finally:
            deployment.close()
        # Every node takes a write at once: nothing is stuck.
        for prefix in acked:
            client.set_data(prefix, b"after restart")
            assert client.get_data(prefix).data == b"after restart"
        # The in-flight create of each stream was applied exactly once or not at all.
        for prefix, ops in acked.items():
            created = [op for op in ops if op["op"] == "create"]
            n = len(created)
            children = {c.path for c in client.get_children("/")}
            assert f"{prefix}-{n - 1}" in children
            assert f"{prefix}-{n + 1}" not in children
    finally:
        client.stop()


@pytest.mark.parametrize(
    "point", ["writer.locked", "writer.pushed", "writer.committed", "distributor.applied", "distributor.replied"]
)
def test_process_dying_inside_a_function_converges(config, point):
    assert run_script(config, {"op": "create", "path": "/c", "data": "before"})[0]["ok"]
    # No other process runs the functions meanwhile: the worker's own take its write, and die in it.
    proc = spawn(config, "crash-at", point, "script", json.dumps({"op": "set", "path": "/c", "data": "during"}))
    _, err = proc.communicate(timeout=SETTLE)
    assert proc.returncode == 137, err
    # The dead process never got its answer. Its write was taken from the queue but not
    # finished: after the visibility timeout this process's functions redeliver it, and it is
    # applied exactly once, with no lock left behind.
    with FaaSKeeperClient(config, timeout=SETTLE) as client:
        deadline = time.monotonic() + SETTLE
        while client.get_data("/c").data != b"during":
            assert time.monotonic() < deadline, f"the write interrupted at {point} was never applied"
            time.sleep(0.05)
        assert client.get_data("/c").stat.version == 1
        client.set_data("/c", b"after")
        final = client.get_data("/c")
        assert final.data == b"after"
        assert final.stat.version == 2


def test_process_dying_before_its_distributor_commits_loses_only_that_and_converges(config):
    assert run_script(config, {"op": "create", "path": "/c", "data": "before"})[0]["ok"]
    # The worker's first send answers its registration; its second would answer the set, once
    # the distributor's claim and update of user storage are committed: it dies just before.
    proc = spawn(config, "die-at-send", "2", "script", json.dumps({"op": "set", "path": "/c", "data": "during"}))
    _, err = proc.communicate(timeout=SETTLE)
    assert proc.returncode == 137, err
    # No process runs the functions now: the file shows what the dead one had committed.
    conn = sqlite3.connect(LocalSettings.from_config(config).database)
    try:
        (data,) = conn.execute("SELECT data FROM user_nodes WHERE path = '/c'").fetchone()
        assert bytes(data) == b"before", "the dead distributor's update of user storage was not committed"
        events = conn.execute("SELECT receive_count FROM queue_messages WHERE queue = 'distributor'").fetchall()
        assert events == [(1,)], "the writer's steps and the event's receipt were committed"
        sets = conn.execute(
            "SELECT COUNT(*) FROM queue_messages WHERE queue = 'writer' AND instr(body, CAST('set_data' AS BLOB))"
        ).fetchone()
        assert sets == (0,), "the writer's ack was committed with them"
    finally:
        conn.close()
    with FaaSKeeperClient(config, timeout=SETTLE) as client:
        deadline = time.monotonic() + SETTLE
        while client.get_data("/c").data != b"during":
            assert time.monotonic() < deadline, "the write whose distributor died was never applied"
            time.sleep(0.05)
        assert client.get_data("/c").stat.version == 1
        client.set_data("/c", b"after")
        assert client.get_data("/c").stat.version == 2
