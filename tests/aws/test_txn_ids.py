"""AWS transaction ids as ``fk shell`` shows them: offsets from the deployment's origin, small and
in the order of the SQS sequence numbers that stay stored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper_aws.deploy.txn_origin import read_origin
from faaskeeper_aws.functions.deployed import deployed_functions
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_deploy.cli import main

from .moto import MotoServer
from .test_deploy import config_data, unique, write_config


def shown(out: str, field: str) -> str:
    found = re.search(rf"^{field}\s+= (\S+)$", out, re.MULTILINE)
    assert found is not None, out
    return found.group(1)


def test_the_shell_shows_transaction_ids_compactly_in_their_order(
    moto_server: MotoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, config_data(unique(), channel="tcp"))
    assert main(["deploy", "service", "--config", str(path)]) == 0
    config = Config.from_file(path)
    settings = AwsSettings.from_config(config)
    try:
        with deployed_functions(settings):
            capsys.readouterr()
            script = "create /a x; create /a/b; get -w /a; set /a y; wait 15; stat /a"
            assert main(["shell", str(path), "-c", script]) == 0
            out = capsys.readouterr().out
            with FaaSKeeperClient(config, timeout=30) as client:
                node = client.exists("/a")
        assert node is not None
        stat = node.stat
        assert len(str(stat.mzxid)) == 20, "stored as SQS gave it"
        origin = read_origin(settings)
        assert origin is not None
        czxid, mzxid, pzxid = (int(shown(out, field)) for field in ("czxid", "mzxid", "pzxid"))
        assert 0 < czxid < pzxid < mzxid < 1000, out
        assert (czxid, mzxid, pzxid) == (stat.czxid - origin, stat.mzxid - origin, stat.pzxid - origin)
        assert f"WATCHER: NodeDataChanged /a (txn {mzxid})" in out
    finally:
        assert main(["remove", "service", "--config", str(path)]) == 0
