"""The fk command's deploy, status and remove on the local provider, and its errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper_deploy.cli import main


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    # Relative "local.path" values resolve against the working directory.
    monkeypatch.chdir(tmp_path)


def write(path, data) -> str:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_deploy_use_status_remove(tmp_path, capsys):
    config = write(tmp_path / "fk.json", {"deployment-name": "dev", "local": {"path": "data"}})
    assert main(["deploy", "service", "--provider", "local", "--config", config]) == 0
    written = json.loads((tmp_path / "fk.json").read_text())
    assert written["cloud-provider"] == "local"
    data_dir = written["local"]["path"]
    assert data_dir.startswith("/")  # made absolute, so the config works from anywhere
    assert (tmp_path / data_dir / "dev" / "faaskeeper.sqlite3").exists()

    client = FaaSKeeperClient(Config.deserialize(written))
    client.start()
    client.create("/from-cli", b"x")
    client.stop()

    capsys.readouterr()
    assert main(["status", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "deployed           True" in out
    assert "nodes              2" in out

    assert main(["deploy", "service", "--config", config, "--clean"]) == 0
    client = FaaSKeeperClient(Config.deserialize(written))
    client.start()
    assert client.exists("/from-cli") is None
    client.stop()

    assert main(["remove", "service", "--config", config]) == 0
    assert not (tmp_path / data_dir / "dev").exists()
    capsys.readouterr()
    assert main(["status", "--config", config]) == 0
    assert "deployed  False" in capsys.readouterr().out


def test_output_option_keeps_the_input(tmp_path):
    config = write(tmp_path / "in.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "x"}})
    before = (tmp_path / "in.json").read_text()
    assert main(["deploy", "service", "--config", config, "--output", str(tmp_path / "out.json")]) == 0
    assert (tmp_path / "in.json").read_text() == before
    assert json.loads((tmp_path / "out.json").read_text())["deployment-name"] == "d"
    main(["remove", "service", "--config", str(tmp_path / "out.json")])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"cloud-provider": "nimbus", "deployment-name": "d"}, "Unknown provider 'nimbus'; installed providers: "),
        ({"cloud-provider": "local"}, "missing the required key 'deployment-name'"),
        ({"cloud-provider": "local", "deployment-name": "d"}, "'local' must contain 'path'"),
        (
            {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p", "lock-max-hold": "5"}},
            "'local.lock-max-hold' must be a positive number",
        ),
        ({"cloud-provider": "local", "deployment-name": "d", "verbose": "maybe"}, "'verbose' must be true or false"),
        ("{broken", "not valid JSON"),
    ],
)
def test_config_errors_name_the_problem(tmp_path, capsys, content, message):
    config = write(tmp_path / "bad.json", content)
    assert main(["deploy", "service", "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fk: error: ")
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "p").exists()


def test_unknown_provider_lists_installed_and_hints(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"deployment-name": "d"})
    assert main(["deploy", "service", "--provider", "nimbus", "--config", config]) == 1
    err = capsys.readouterr().err
    assert "installed providers: " in err
    assert "local" in err.split("installed providers: ")[1]
    assert "pip install faaskeeper-nimbus" in err


def test_provider_disagreeing_with_config(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}})
    assert main(["deploy", "service", "--provider", "aws", "--config", config]) == 1
    assert "disagrees" in capsys.readouterr().err


def test_missing_config_file(tmp_path, capsys):
    assert main(["status", "--config", str(tmp_path / "nope.json")]) == 1
    assert "Cannot read config file" in capsys.readouterr().err


def test_fk_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "faaskeeper_deploy", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "deploy" in out.stdout
    assert "remove" in out.stdout


def test_deploy_functions_on_local(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}})
    assert main(["deploy", "functions", "--config", config]) == 0
    assert "up to date" in capsys.readouterr().out
