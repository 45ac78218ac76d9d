"""A leader election among three processes (kazoo's Election recipe on faaskeeper.kazoo, one local
deployment) fails over when the leader is killed with SIGKILL, within the session timeout."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from faaskeeper.config import Config
from faaskeeper.kazoo import KazooClient

HERE = Path(__file__).parent
SESSION_TIMEOUT = 3.0
HEARTBEAT = 1.0
#: What the new leader's notice may take after the session's expiry on a loaded machine: the
#: expiry's write, the watch's notification and the contender's read of the children.
NOTICE = 0.5
#: Seconds to wait for what must happen: only a failing test waits this long.
SETTLE = 60.0

pytestmark = pytest.mark.slow


def deploy(directory: Path) -> tuple[Config, Path]:
    from faaskeeper_local.provider import LocalProvider

    config = LocalProvider().deploy(
        Config.deserialize(
            {
                "cloud-provider": "local",
                "deployment-name": "election",
                "heartbeat-frequency": HEARTBEAT,
                "session-timeout": SESSION_TIMEOUT,
                "local": {"path": str(directory / "deployment")},
            }
        )
    )
    path = directory / "client.json"
    path.write_text(json.dumps(config.serialize()))
    return config, path


def contender(config_file: Path, name: str, lines: queue.Queue[tuple[str, dict]]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "election_process.py"), str(config_file), name],
        stdout=subprocess.PIPE,
        text=True,
    )

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put((name, json.loads(line)))

    threading.Thread(target=read, daemon=True).start()
    return proc


def test_election_fails_over_within_the_session_timeout_when_the_leader_is_killed(tmp_path, record_property):
    config, config_file = deploy(tmp_path)
    lines: queue.Queue[tuple[str, dict]] = queue.Queue()
    observer = KazooClient(config)  # a process using the deployment, as the contenders' service
    observer.start()
    procs = {name: contender(config_file, name, lines) for name in ("a", "b", "c")}
    try:
        leaders: list[str] = []
        ready: set[str] = set()
        while len(ready) < 3 or not leaders:
            name, line = lines.get(timeout=SETTLE)
            if "ready" in line:
                ready.add(name)
            else:
                leaders.append(name)
        assert len(leaders) == 1
        election = observer.Election("/election")
        deadline = time.monotonic() + SETTLE
        while len(election.contenders()) < 3:
            assert time.monotonic() < deadline, "the three processes never all joined the election"
            time.sleep(0.05)
        assert election.contenders()[0] == leaders[0]

        killed_at = time.time()
        procs[leaders[0]].send_signal(signal.SIGKILL)
        procs[leaders[0]].wait(10)
        name, line = lines.get(timeout=SETTLE)
        assert "leader" in line
        assert name != leaders[0]
        failover = line["at"] - killed_at
        record_property("failover_seconds", round(failover, 3))
        print(f"\nfailover {failover:.2f} s after SIGKILL of the leader (session timeout {SESSION_TIMEOUT:g} s)")
        # The service expires a session a session timeout after the last ping it answered, which
        # was before the kill; then the next contender is told.
        assert failover <= SESSION_TIMEOUT + NOTICE
        assert lines.empty()  # one leader at a time
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
        observer.stop()
