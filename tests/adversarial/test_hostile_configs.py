"""Configs whose numbers would break a running client or its functions (a NaN heartbeat never
expires a session, 1e308 kills the heartbeat and session threads, port 99999 cannot be bound)
are refused when read, naming the key and its range, before anything runs or is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper_deploy.cli import main

HOSTILE = [
    ('"heartbeat-frequency": NaN', "'heartbeat-frequency' must be a number from 0.01 to 86400 seconds, got nan"),
    ('"heartbeat-frequency": 1e308', "'heartbeat-frequency' must be a number from 0.01 to 86400 seconds, got 1e+308"),
    ('"heartbeat-frequency": Infinity', "'heartbeat-frequency' must be a number from 0.01 to 86400 seconds, got inf"),
    ('"session-timeout": -Infinity', "'session-timeout' must be a number from 0.01 to 259200 seconds, got -inf"),
    ('"port": 99999', "'port' must be an integer from -1 to 65535, got 99999"),
    ('"max-data-size": 1e400', "'max-data-size' must be an integer from 1 to 1073741824 bytes, got inf"),
    ('"watch-fanout": 1e9', "'watch-fanout' must be an integer from 0 to 1000000, got 1000000000.0"),
    ('"local": {"path": "data", "lock-max-hold": NaN}', "'local.lock-max-hold' must be a number from 0.01 to 3600"),
    ('"local": {"path": "data", "visibility-timeout": 1e308}', "'local.visibility-timeout' must be a number from"),
    ('"local": {"path": "data", "max-receives": 0}', "'local.max-receives' must be an integer from 1 to 1000, got 0"),
]


def _config_file(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "fk.json"
    local = "" if entry.startswith('"local"') else ', "local": {"path": "data"}'
    path.write_text(f'{{"cloud-provider": "local", "deployment-name": "hostile"{local}, {entry}}}')
    return path


@pytest.mark.parametrize(("entry", "message"), HOSTILE)
def test_a_hostile_number_is_refused_by_every_command_naming_the_key_and_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], entry: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    path = _config_file(tmp_path, entry)
    config = ["--config", str(path)]
    commands = [["deploy", "service", *config], ["status", *config], ["remove", "service", *config]]
    for command in [*commands, ["shell", "-c", "ls /", str(path)]]:
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"fk: error: {path}: Config key {message}"), err
        assert "Traceback" not in err
    assert not (tmp_path / "data").exists(), "nothing was deployed"


@pytest.mark.parametrize(("entry", "message"), HOSTILE)
def test_a_client_never_starts_from_a_hostile_config(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigurationException, match=re.escape(f"Config key {message}")):
        FaaSKeeperClient(Config.from_file(_config_file(tmp_path, entry))).start()
    assert not (tmp_path / "data").exists()
