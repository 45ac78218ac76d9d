"""Many client processes writing one node: every write finishes, once, with the locks' bounded
retries never running out."""

from __future__ import annotations

import json

import pytest

from faaskeeper.client import FaaSKeeperClient

from .test_processes import records, spawn

pytestmark = pytest.mark.slow

PROCESSES = 5
SETS = 20
CREATES = 4


def test_processes_contending_for_one_node_all_finish(config, client: FaaSKeeperClient) -> None:
    client.create("/hot", b"")
    script = [json.dumps({"op": "set", "path": "/hot", "data": str(i)}) for i in range(SETS)]
    script += [json.dumps({"op": "create", "path": "/hot/c-", "sequential": True}) for _ in range(CREATES)]
    procs = [spawn(config, "script", *script) for _ in range(PROCESSES)]
    outputs = [proc.communicate(timeout=180) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "LockContention" not in err, f"a write ran out of lock retries:\n{err}"
    done = [r for out, _ in outputs for r in records(out)[1:] if r["op"] in ("set", "create")]
    assert all(r["ok"] for r in done), [r for r in done if not r["ok"]]
    versions = sorted(r["version"] for r in done if r["op"] == "set")
    assert versions == list(range(1, PROCESSES * SETS + 1)), "each set applied once, one version each"
    created = sorted(r["path"] for r in done if r["op"] == "create")
    # The sets do not change /hot's children counter; the creates number 0..N-1 among themselves.
    assert [int(p[-10:]) for p in created] == list(range(PROCESSES * CREATES))
    node = client.get_data("/hot")
    assert node.stat.version == PROCESSES * SETS
    assert [c.path for c in client.get_children("/hot")] == created
