"""The docs' example (examples/kazoo_election_and_lock.py) runs on FaaSKeeper as it is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from faaskeeper.kazoo import KazooClient

EXAMPLE = Path(__file__).parents[2] / "examples" / "kazoo_election_and_lock.py"


def test_the_election_and_lock_example_runs_on_faaskeeper(tmp_path, config):
    config_file = tmp_path / "fk.json"
    config_file.write_text(json.dumps(config.serialize()))
    env = {**os.environ, "COORDINATOR": str(config_file)}
    runs = [
        subprocess.Popen([sys.executable, str(EXAMPLE), name], env=env, stdout=subprocess.PIPE, text=True)
        for name in ("worker-1", "worker-2")
    ]
    outputs = [proc.communicate(timeout=60)[0] for proc in runs]
    assert [proc.returncode for proc in runs] == [0, 0]
    for name, out in zip(("worker-1", "worker-2"), outputs, strict=True):
        lines = out.splitlines()
        assert lines[0] == f"{name} leads"
        assert lines[1].startswith(f"{name} ran /jobs/done/run-")
    zk = KazooClient(config)
    zk.start()
    try:
        done = zk.get_children("/jobs/done")
        assert sorted(zk.get(f"/jobs/done/{run}")[0] for run in done) == [b"worker-1", b"worker-2"]
    finally:
        zk.stop()
