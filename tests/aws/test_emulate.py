"""``python -m faaskeeper_aws.emulator`` in its own process, as a user runs it beside a moto server:
it hands the event source mappings back on every signal that stops it, a later start and
``fk deploy`` recover the mappings of one killed with SIGKILL, a second emulator is refused while
one runs, and it stops by itself, with one line, when the deployment is removed. A write that no
function takes times out saying so, and what to start."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException, TimeoutException
from faaskeeper.testing.support import wait_until
from faaskeeper_aws.functions.deployed import deployed_functions
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_deploy.cli import main

from .moto import MotoServer, aws_environment
from .test_deploy import config_data, unique, write_config
from .test_deployed import mapping_states

TIMEOUT = 30.0


@dataclass
class Deployed:
    path: Path
    config: Config
    settings: AwsSettings


@pytest.fixture
def deployed(moto_server: MotoServer, tmp_path: Path) -> Iterator[Deployed]:
    data = {**config_data(unique(), channel="tcp"), "heartbeat-frequency": 1}
    path = write_config(tmp_path, data)
    assert main(["deploy", "service", "--provider", "aws", "--config", str(path)]) == 0
    config = Config.from_file(path)
    yield Deployed(path, config, AwsSettings.from_config(config))
    # A test may leave sessions behind (a client whose registration no function took in time).
    assert main(["remove", "service", "--config", str(path), "--force"]) == 0


@pytest.fixture
def emulators(moto_server: MotoServer) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def start_emulator(
    deployed: Deployed, endpoint: str, started: list[subprocess.Popen[str]], *, ready: bool = True
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "faaskeeper_aws.emulator", str(deployed.path), "--heartbeat-interval", "0.5"],
        env={**os.environ, **aws_environment(endpoint)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    started.append(process)
    if ready:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "running the functions" in line, line
    return process


@pytest.mark.parametrize("stop", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_every_signal_that_stops_the_emulator_hands_the_mappings_back(
    deployed: Deployed, moto_server: MotoServer, emulators: list[subprocess.Popen[str]], stop: signal.Signals
) -> None:
    process = start_emulator(deployed, moto_server.endpoint, emulators)
    assert mapping_states(deployed.settings) == ["Disabled", "Disabled"]
    process.send_signal(stop)  # SIGHUP: its terminal was closed
    out, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, out
    assert "handed back" in out
    assert mapping_states(deployed.settings) == ["Enabled", "Enabled"]


def killed(deployed: Deployed, endpoint: str, started: list[subprocess.Popen[str]]) -> None:
    """An emulator killed with SIGKILL while it ran: nothing could hand its mappings back."""
    process = start_emulator(deployed, endpoint, started)
    process.kill()
    process.wait()
    assert mapping_states(deployed.settings) == ["Disabled", "Disabled"]


def test_the_next_emulator_takes_over_the_mappings_one_killed_with_sigkill_left(
    deployed: Deployed, moto_server: MotoServer, emulators: list[subprocess.Popen[str]]
) -> None:
    killed(deployed, moto_server.endpoint, emulators)
    with deployed_functions(deployed.settings), FaaSKeeperClient(deployed.config, timeout=TIMEOUT) as client:
        client.create("/after-sigkill", b"the next emulator runs the functions")
    assert mapping_states(deployed.settings) == ["Enabled", "Enabled"]


def test_fk_deploy_enables_the_mappings_an_emulator_killed_with_sigkill_left(
    deployed: Deployed,
    moto_server: MotoServer,
    emulators: list[subprocess.Popen[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    killed(deployed, moto_server.endpoint, emulators)
    capsys.readouterr()
    assert main(["status", "--config", str(deployed.path), "--json"]) == 0
    details = json.loads(capsys.readouterr().out)["details"]
    assert details["event source mappings"].startswith("disabled, left by an emulator that did not stop")
    assert main(["deploy", "service", "--config", str(deployed.path)]) == 0
    assert mapping_states(deployed.settings) == ["Enabled", "Enabled"]
    assert "left disabled by an emulator" in capsys.readouterr().err
    assert main(["status", "--config", str(deployed.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["details"]["event source mappings"] == "enabled"


def test_a_second_emulator_is_refused_while_one_runs_and_fk_deploy_leaves_it_the_mappings(
    deployed: Deployed,
    moto_server: MotoServer,
    emulators: list[subprocess.Popen[str]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    running = start_emulator(deployed, moto_server.endpoint, emulators)
    with pytest.raises(ProviderException, match=rf"already run in an emulator \(process {running.pid} on "):
        deployed_functions(deployed.settings)
    second = start_emulator(deployed, moto_server.endpoint, emulators, ready=False)
    out, _ = second.communicate(timeout=TIMEOUT)
    assert (second.returncode, out.count("\n")) == (1, 1), out
    assert "already run in an emulator" in out
    assert main(["deploy", "service", "--config", str(deployed.path)]) == 0
    assert mapping_states(deployed.settings) == ["Disabled", "Disabled"], "left to the running emulator"
    capsys.readouterr()
    assert main(["status", "--config", str(deployed.path), "--json"]) == 0
    details = json.loads(capsys.readouterr().out)["details"]
    assert details["event source mappings"].startswith(f"taken over by an emulator (process {running.pid} on ")
    running.send_signal(signal.SIGTERM)
    running.communicate(timeout=TIMEOUT)
    assert mapping_states(deployed.settings) == ["Enabled", "Enabled"]


def test_the_emulator_stops_with_one_line_when_its_deployment_is_removed(
    deployed: Deployed, moto_server: MotoServer, emulators: list[subprocess.Popen[str]]
) -> None:
    process = start_emulator(deployed, moto_server.endpoint, emulators)
    assert main(["remove", "service", "--config", str(deployed.path)]) == 0
    wait_until(lambda: process.poll() is not None, TIMEOUT, "the emulator to stop by itself", interval=0.1)
    assert process.stdout is not None
    out = process.stdout.read()
    assert process.returncode == 0, out
    assert out == f"deployment {deployed.config.deployment_name!r} was removed; stopped\n"


def test_a_write_no_function_takes_times_out_naming_what_to_start(
    deployed: Deployed, moto_server: MotoServer, emulators: list[subprocess.Popen[str]]
) -> None:
    # No emulator runs: not even the session's registration is taken from the writer queue.
    with pytest.raises(TimeoutException) as registering:
        FaaSKeeperClient(deployed.config, timeout=2).start()
    message = str(registering.value)
    assert message.startswith("Operation timed out after 2 [s]: no writer took the request"), message
    assert f"{deployed.settings.names.writer_queue}; on an emulated AWS" in message
    assert "'python -m faaskeeper_aws.emulator CONFIG' runs" in message

    functions = start_emulator(deployed, moto_server.endpoint, emulators)
    client = FaaSKeeperClient(deployed.config, timeout=TIMEOUT)
    client.start()
    try:
        client.create("/taken", b"while the functions run")
        functions.send_signal(signal.SIGINT)
        functions.communicate(timeout=TIMEOUT)
        client._timeout = 2  # the write that stalls need not wait the whole timeout
        with pytest.raises(TimeoutException, match=r"no writer took the request.*python -m faaskeeper_aws\.emulator\b"):
            client.set_data("/taken", b"after they stopped")
    finally:
        with suppress(TimeoutException):  # no function takes the close either
            client.stop(timeout=0)


def test_a_function_failing_for_a_deleted_table_stops_the_functions_without_a_traceback(
    stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator], caplog: pytest.LogCaptureFixture
) -> None:
    # Removing a stack may delete a table before the queues: the heartbeat then fails first.
    config = stackless(heartbeat=3600)
    settings = AwsSettings.from_config(config)
    emulator = emulate(config)
    settings.client("dynamodb").delete_table(TableName=settings.names.sessions_table)
    caplog.set_level(logging.INFO, "faaskeeper")
    [heartbeat] = emulator.schedules
    emulator.invoke_scheduled(heartbeat)
    assert emulator.removed.is_set()
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [], "no traceback"
    assert emulator.invoke_scheduled(heartbeat) is None
    assert len(emulator.errors) == 1, "nothing more runs"


def test_on_aws_a_stalled_write_is_told_when_the_writer_queues_mapping_is_disabled(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faaskeeper_aws.provider import AwsProvider

    deployment = AwsProvider().open(deployed.config)
    try:
        deployment.writer_queue.send(b"{}", "session", "request")  # a request no writer took
        monkeypatch.setattr(AwsSettings, "emulated", property(lambda _self: False))  # as on AWS itself
        assert deployment.diagnose_stalled_write() is None, "Lambda runs the writer: it is only late"
        lam = deployed.settings.client("lambda")
        [writer] = lam.list_event_source_mappings(FunctionName=deployed.settings.names.function("writer"))[
            "EventSourceMappings"
        ]
        lam.update_event_source_mapping(UUID=writer["UUID"], Enabled=False)
        assert deployment.diagnose_stalled_write() == (
            f"no writer took the request: 1 not done in {deployed.settings.names.writer_queue}; the writer "
            "queue's event source mapping is disabled: 'fk deploy service' enables it"
        )
    finally:
        deployment.close()
