"""``local.durability``: the SQLite synchronous level of every connection to a deployment file.

The mode is the deployment's, stored in its file by ``fk deploy``: a client whose config says
otherwise, a thread that opens its own connection, and another process all commit with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper_local.deployment import LocalDeployment
from faaskeeper_local.provider import LocalProvider
from faaskeeper_local.settings import LocalSettings
from faaskeeper_local.storage.database import Database
from tests.local.conftest import local_config

#: ``PRAGMA synchronous`` answers with a number: NORMAL is 1, FULL is 2.
LEVELS = {"normal": 1, "fsync": 2}

#: Opens the deployment of the config in argv[1] in a process of its own and prints its level.
OTHER_PROCESS = """
import json, sys
from faaskeeper.config import Config
from faaskeeper_local.provider import LocalProvider
deployment = LocalProvider().open(Config.deserialize(json.loads(sys.argv[1])))
try:
    print(deployment.system_storage._db.query("PRAGMA synchronous")[0][0])
finally:
    deployment.close()
"""


def _without_durability(config: Config) -> Config:
    """The config as a client that names no durability has it."""
    data = config.serialize()
    data["local"] = {k: v for k, v in data["local"].items() if k != "durability"}
    return Config.deserialize(data)


def _level_on_a_new_thread(db: Database) -> int:
    levels: list[int] = []
    thread = threading.Thread(target=lambda: levels.append(db.query("PRAGMA synchronous")[0][0]))
    thread.start()
    thread.join()
    return levels[0]


@pytest.mark.parametrize("mode", ["normal", "fsync", None])
def test_every_connection_of_every_process_commits_with_the_deployments_mode(tmp_path: Path, mode: str | None) -> None:
    deployed = local_config(tmp_path, **({"durability": mode} if mode else {}))
    level = LEVELS[mode or "normal"]
    config = _without_durability(deployed)
    client = FaaSKeeperClient(config, timeout=20)
    client.start()
    deployment = LocalDeployment(config, LocalSettings.from_config(config))
    try:
        # The functions' threads open their connections as they write and distribute.
        client.create("/node", b"x")
        client.set_data("/node", b"y")
        client.delete("/node")
        db = deployment._shared.db
        assert db.durability == (mode or "normal")
        assert db.query("PRAGMA synchronous")[0][0] == level
        assert _level_on_a_new_thread(db) == level
        connections = list(db._connections)
        assert len(connections) >= 3  # this thread's, the writer's and the distributor's at least
        assert {conn.execute("PRAGMA synchronous").fetchone()[0] for conn in connections} == {level}
    finally:
        deployment.close()
        client.stop()
    other = subprocess.run(
        [sys.executable, "-c", OTHER_PROCESS, json.dumps(config.serialize())],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(other.stdout) == level


def test_redeploying_stores_the_new_mode_for_processes_that_open_the_file_after(tmp_path: Path) -> None:
    local_config(tmp_path, durability="fsync")
    config = local_config(tmp_path, durability="normal")
    deployment = LocalProvider().open(_without_durability(config))
    try:
        assert deployment._shared.db.query("PRAGMA synchronous")[0][0] == LEVELS["normal"]
    finally:
        deployment.close()


def test_a_file_storing_an_unknown_mode_is_refused_naming_it(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    path = LocalSettings.from_config(config).database
    db = Database(path)
    with db.transaction() as conn:
        conn.execute("UPDATE meta SET value = 'paranoid' WHERE key = 'durability'")
    db.close()
    with pytest.raises(Exception, match=r"stores the durability 'paranoid', which this version of FaaSKeeper does not"):
        Database(path)
