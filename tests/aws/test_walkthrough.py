"""A new user's way through the AWS provider on moto: ``fk deploy service``, the functions run by
``python -m faaskeeper_aws.emulator`` in its own process, a session doing every operation and watch,
then ``fk remove service`` leaving nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import NotEmptyException
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_deploy.cli import main

from .inventory import leftovers
from .moto import MotoServer, aws_environment
from .test_deploy import config_data, unique, write_config


class Heard:
    def __init__(self) -> None:
        self.events: list[WatchedEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: WatchedEvent) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait(self, timeout: float = 15) -> list[tuple[WatchEventType, str]]:
        with self._changed:
            assert self._changed.wait_for(lambda: self.events, timeout), "no watch fired"
            return [(e.event_type, e.path) for e in self.events]


@pytest.fixture
def functions_process(moto_server: MotoServer) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_functions(path: Path, endpoint: str, started: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    env = {**os.environ, **aws_environment(endpoint)}
    process = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_aws.emulator", str(path), "--heartbeat-interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(process)
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "running the functions" in line, line
    return process


def test_deploy_use_and_remove_as_a_new_user(
    moto_server: MotoServer, tmp_path: Path, functions_process: list[subprocess.Popen[str]]
) -> None:
    name = unique()
    path = write_config(tmp_path, {**config_data(name, channel="tcp"), "heartbeat-frequency": 1})
    assert main(["deploy", "service", "--provider", "aws", "--config", str(path)]) == 0
    config = Config.from_file(path)
    assert json.loads(path.read_text())["aws"]["data-bucket"], "deploy writes the client config"
    functions = start_functions(path, moto_server.endpoint, functions_process)

    with FaaSKeeperClient(config, timeout=15) as watcher:
        client = FaaSKeeperClient(config, timeout=15)
        client.start()
        client.create("/app", b"v1")
        data, children, created = Heard(), Heard(), Heard()
        assert watcher.get_data("/app", watch=data).data == b"v1"
        assert watcher.get_children("/app", watch=children) == []
        assert watcher.exists("/app/config", watch=created) is None
        client.set_data("/app", b"v2", version=0)
        assert data.wait() == [(WatchEventType.NODE_DATA_CHANGED, "/app")]
        client.create("/app/config", b"{}")
        assert created.wait() == [(WatchEventType.NODE_CREATED, "/app/config")]
        assert children.wait() == [(WatchEventType.NODE_CHILDREN_CHANGED, "/app")]
        job = client.create("/app/job-", b"", sequential=True)
        assert job.path == "/app/job-0000000001"
        client.create("/app/leader", b"me", ephemeral=True)
        assert [n.path for n in watcher.get_children("/app")] == ["/app/config", "/app/job-0000000001", "/app/leader"]
        stat = watcher.exists("/app")
        assert stat is not None
        assert (stat.stat.version, stat.stat.num_children) == (1, 3)
        with pytest.raises(NotEmptyException):
            client.delete("/app")
        gone = Heard()
        assert watcher.exists("/app/leader", watch=gone) is not None
        client.stop()
        # The session that owned /app/leader has ended: its ephemeral node goes with it.
        assert gone.wait() == [(WatchEventType.NODE_DELETED, "/app/leader")]
        for child in watcher.get_children("/app"):
            watcher.delete(child.path)
        watcher.delete("/app")
        assert watcher.exists("/app") is None

    functions.send_signal(signal.SIGTERM)
    out, _ = functions.communicate(timeout=30)
    assert functions.returncode == 0, out
    assert "handed back" in out
    assert main(["remove", "service", "--config", str(path)]) == 0
    assert leftovers(AwsSettings.from_config(config)) == {}


def test_the_functions_emulator_refuses_real_aws_and_bad_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from faaskeeper_aws.emulator.__main__ import main as emulate

    for variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(variable, raising=False)
    path = write_config(tmp_path, config_data(unique()))
    assert emulate([str(path)]) == 1
    assert "only on an emulated AWS" in capsys.readouterr().err
    assert emulate([str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err


def test_the_moto_flow_needs_the_aws_variables_only_to_deploy_and_leaves_the_example_as_it_is(
    moto_server: MotoServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    functions_process: list[subprocess.Popen[str]],
) -> None:
    name = unique()
    examples = tmp_path / "examples"
    examples.mkdir()
    example = examples / "aws.json"
    shipped = json.loads((Path(__file__).parents[2] / "examples" / "aws.json").read_text())
    example.write_text(json.dumps({**shipped, "deployment-name": name, "heartbeat-frequency": 1}, indent=2))
    before = example.read_bytes()
    monkeypatch.chdir(tmp_path)
    # The terminal that deploys has AWS_ENDPOINT_URL and the other variables (the moto fixture set them).
    assert main(["deploy", "service", "--provider", "aws", "--config", str(example)]) == 0
    written = tmp_path / f"fk-aws-{name}.json"
    assert f"client config written to {written.name} ({example} is an example" in capsys.readouterr().out
    assert example.read_bytes() == before, "the example stays as it is"
    assert json.loads(written.read_text())["aws"]["endpoint-url"] == moto_server.endpoint

    # The other terminals have none of them, nor any AWS configuration.
    bare = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {"HOME": str(tmp_path)}
    functions = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_aws.emulator", str(written), "--heartbeat-interval", "1"],
        env=bare,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    functions_process.append(functions)
    assert functions.stdout is not None
    line = functions.stdout.readline()
    assert "running the functions" in line, line
    shell = subprocess.run(
        [
            sys.executable,
            "-m",
            "faaskeeper_deploy",
            "shell",
            str(written),
            "-c",
            "create /readme 'no exports'; get /readme",
        ],
        env=bare,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shell.returncode == 0, shell.stdout + shell.stderr
    assert shell.stdout.splitlines()[-1] == "no exports"
    functions.send_signal(signal.SIGINT)
    out, _ = functions.communicate(timeout=30)
    assert functions.returncode == 0, out
    assert main(["remove", "service", "--config", str(written)]) == 0
    assert leftovers(AwsSettings.from_config(Config.from_file(written))) == {}


def test_deploying_an_example_never_overwrites_another_deployments_config(
    moto_server: MotoServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique()
    (tmp_path / "examples").mkdir()
    example = write_config(tmp_path / "examples", config_data(name))
    taken = tmp_path / f"fk-aws-{name}.json"
    taken.write_text(json.dumps(config_data("another")))
    monkeypatch.chdir(tmp_path)
    assert main(["deploy", "service", "--config", str(example)]) == 1
    assert "holds another deployment's config: choose the file for the client config with --output" in (
        capsys.readouterr().err
    )
    assert json.loads(taken.read_text())["deployment-name"] == "another"
    settings = AwsSettings.from_config(Config.deserialize(config_data(name)))
    assert leftovers(settings) == {}, "refused before deploying anything"
