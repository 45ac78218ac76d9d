"""A local deployment removed or replaced while clients use it: they fail, naming why, and no
write is acknowledged that the deployment other processes see does not hold."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import faaskeeper_local.deployment as local_deployment
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import DeploymentUnusableException
from faaskeeper_deploy.cli import main
from faaskeeper_local.provider import LocalProvider

from .conftest import ClientProcess, local_config

GONE = r"faaskeeper\.sqlite3 was removed or replaced while in use \(fk remove service, fk deploy service --clean\?\)"


def test_every_call_of_a_client_whose_deployment_was_removed_fails_naming_the_removal(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    client.create("/before", b"1")
    LocalProvider().remove(config)
    time.sleep(0.01)  # a read looks at the files at most once a millisecond; a commit always does
    with pytest.raises(DeploymentUnusableException, match=GONE):
        client.get_data("/before")
    with pytest.raises(DeploymentUnusableException, match=GONE):
        client.create("/after", b"2")
    with pytest.raises(DeploymentUnusableException, match=GONE):
        client.stop()
    assert not (tmp_path / "adversarial").exists(), "nothing re-created the removed deployment"


def test_a_write_after_a_clean_redeploy_fails_and_the_new_deployment_holds_nothing_of_it(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    old = FaaSKeeperClient(config, timeout=30)
    old.start()
    old.create("/before", b"1")
    LocalProvider().deploy(config, clean=True)
    with pytest.raises(DeploymentUnusableException, match=GONE):
        old.create("/after", b"2")
    with pytest.raises(DeploymentUnusableException, match=GONE):
        old.get_children("/")
    # A client opened now, in the same process, gets the new deployment, not the old one's handle.
    with FaaSKeeperClient(config, timeout=30) as new:
        assert new.get_children("/") == []
        new.create("/fresh", b"3")
        assert [n.path for n in new.get_children("/")] == ["/fresh"]
    with pytest.raises(DeploymentUnusableException):
        old.stop()


def test_calls_in_flight_when_the_deployment_is_replaced_fail_at_once_with_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = local_config(tmp_path)
    locked, release = threading.Event(), threading.Event()

    def hold_the_writer(point: str) -> None:
        if point == "writer.locked" and not release.is_set():
            locked.set()
            release.wait(30)

    monkeypatch.setattr(local_deployment, "process_faults", hold_the_writer)
    client = FaaSKeeperClient(config, timeout=60)
    client.start()
    in_flight = client.create_async("/in-flight", b"1")
    assert locked.wait(30), "the writer took the create"
    LocalProvider().deploy(config, clean=True)
    release.set()
    # A timeout would say nothing of why; the call fails with the cause well before the client's 60 s.
    with pytest.raises(DeploymentUnusableException, match=GONE):
        in_flight.get(50)
    with FaaSKeeperClient(config, timeout=30) as other:
        assert other.exists("/in-flight") is None
    with pytest.raises(DeploymentUnusableException):
        client.stop()


def test_a_writer_in_another_process_has_nothing_acknowledged_after_a_clean_redeploy(
    tmp_path: Path, client_process: Callable[..., ClientProcess]
) -> None:
    config = local_config(tmp_path)
    writer = client_process(config, "stream", "/w")
    writer.wait_for("started")
    for _ in range(5):
        writer.wait_for("ack")
    assert main(["deploy", "service", "--config", _config_file(tmp_path, config), "--clean", "--force"]) == 0
    redeployed = time.time()
    events = writer.finish()
    [error] = [e for e in events if e["event"] == "error"]
    assert error["error"] == "DeploymentUnusableException", error
    assert "faaskeeper.sqlite3 was removed or replaced while in use" in error["message"]
    late = [e for e in events if e["event"] == "ack" and e["at"] >= redeployed]
    assert late == [], "a write acknowledged after the redeploy"
    with FaaSKeeperClient(config, timeout=30) as reader:
        assert reader.get_children("/") == [], "the new deployment holds a write of the old one"


def test_fk_remove_and_deploy_clean_count_the_live_sessions_and_refuse_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = local_config(tmp_path)
    path = _config_file(tmp_path, config)
    first, second = FaaSKeeperClient(config, timeout=30), FaaSKeeperClient(config, timeout=30)
    first.start()
    second.start()
    first.create("/kept", b"1")
    refusal = (
        "Deployment 'adversarial' has 2 live sessions: {} fails their calls. Stop their clients first, or add --force"
    )
    assert main(["remove", "service", "--config", path]) == 1
    assert refusal.format("removing it") in capsys.readouterr().err
    assert main(["deploy", "service", "--config", path, "--clean"]) == 1
    assert refusal.format("removing it first") in capsys.readouterr().err
    assert second.get_data("/kept").data == b"1", "a refused command changed nothing"
    second.stop()
    assert main(["remove", "service", "--config", path, "--force"]) == 0
    assert "local: removed 'adversarial'; the calls of its 1 live session now fail" in capsys.readouterr().out
    with pytest.raises(DeploymentUnusableException, match=GONE):
        first.set_data("/kept", b"2")
    with pytest.raises(DeploymentUnusableException, match=GONE):
        first.get_data("/kept")
    with pytest.raises(DeploymentUnusableException):
        first.stop()
    assert main(["remove", "service", "--config", path]) == 0, "no deployment: nothing live, nothing refused"


def test_a_process_with_no_client_left_does_not_stop_fk_remove(tmp_path: Path) -> None:
    config = local_config(tmp_path)
    with FaaSKeeperClient(config, timeout=30) as client:
        client.create("/a", b"1")
    assert main(["remove", "service", "--config", _config_file(tmp_path, config)]) == 0


def _config_file(directory: Path, config: Config) -> str:
    path = directory / "fk.json"
    path.write_text(json.dumps(config.serialize()))
    return str(path)
