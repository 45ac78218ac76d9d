"""``fk deploy service --provider gcp``, ``fk deploy functions``, ``fk status`` and ``fk remove
service`` against fresh emulators, run as a user runs them: the ``fk`` command, the functions
served by ``python -m faaskeeper_gcp.emulator`` in a process of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException, TimeoutException
from faaskeeper.testing.processes import WorkerProcess
from faaskeeper.testing.support import wait_until
from faaskeeper.watch import WatchedEvent
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.emulator.servers import start_firestore, start_pubsub
from faaskeeper_gcp.functions.host import REMOVED_AFTER
from faaskeeper_gcp.names import PUSHED_FUNCTIONS
from faaskeeper_gcp.settings import GcpSettings

from .fixtures import PROJECT, gcp_config

FK = [sys.executable, "-m", "faaskeeper_deploy"]


def fk(*args: str) -> str:
    done = subprocess.run([*FK, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def status(config_file: Path) -> dict[str, Any]:
    """``fk status --json``: the counts, with the provider's details beside them."""
    shown = json.loads(fk("status", "--json", "--config", str(config_file)))
    return {**shown, **shown.get("details", {})}


def resources(config: Config) -> dict[str, Any]:
    """Every topic, subscription and Firestore document of the deployment that exists."""
    settings = GcpSettings.from_config(config)
    project = f"projects/{settings.project}"
    prefix = settings.names.prefix + "-"
    topics = [t.name for t in settings.publisher().list_topics(project=project) if prefix in t.name]
    subscriptions = {
        s.name.rsplit("/", 1)[1]: s
        for s in settings.subscriber().list_subscriptions(project=project)
        if prefix in s.name
    }
    root = settings.firestore().collection("faaskeeper").document(settings.names.deployment)
    documents = [root.path] if root.get().exists else []
    documents += [c.id for c in root.collections()]
    settings.close()
    return {"topics": topics, "subscriptions": subscriptions, "documents": documents}


@pytest.fixture
def config_file(gcp: None, tmp_path: Path) -> Iterator[Path]:
    config = gcp_config()
    path = tmp_path / "gcp.json"
    raw = config.serialize()
    del raw["cloud-provider"]  # given by --provider, as a new user would
    path.write_text(json.dumps(raw))
    yield path
    subprocess.run([*FK, "remove", "service", "--config", str(path)], capture_output=True, timeout=120, check=False)


def test_the_gcp_section_can_come_from_deploy_options(config_file: Path) -> None:
    raw = json.loads(config_file.read_text())
    section = raw.pop("gcp")
    config_file.write_text(json.dumps(raw))
    options = ["--gcp-project", section["project"], "--gcp-functions-endpoint", section["functions-endpoint"]]
    fk("deploy", "service", "--provider", "gcp", "--config", str(config_file), *options, "--gcp-lock-max-hold", "2.5")
    written = json.loads(config_file.read_text())["gcp"]
    assert written == {**section, "lock-max-hold": 2.5}
    config = Config.from_file(config_file)
    assert GcpSettings.from_config(config).lock_max_hold == 2.5
    assert resources(config)["topics"]


@pytest.fixture
def functions_process(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    """``functions_process(config_file)``: the deployed config's functions served in their own process."""
    started: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "functions.log").open("w")

    def start(config_file: Path) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "faaskeeper_gcp.emulator", str(config_file)]
        started.append(subprocess.Popen(command, stdout=log, stderr=log))
        return started[-1]

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)
    log.close()


def test_deploy_creates_the_layout_and_remove_leaves_nothing(config_file: Path) -> None:
    out = fk("deploy", "service", "--provider", "gcp", "--config", str(config_file))
    assert "gcp: deployed" in out
    config = Config.from_file(config_file)
    assert (config.cloud_provider, config.writer_queue and config.writer_queue.value) == ("gcp", "pubsub")
    found = resources(config)
    names = GcpSettings.from_config(config).names
    assert sorted(t.rsplit("/", 1)[1] for t in found["topics"]) == sorted(names.topics)
    assert sorted(found["subscriptions"]) == sorted(names.subscriptions)
    endpoint = config.provider_section["functions-endpoint"]
    for function in PUSHED_FUNCTIONS:
        push = found["subscriptions"][names.push_subscription(function)]
        assert push.push_config.push_endpoint == f"{endpoint}/{function}"
        assert push.enable_message_ordering
        assert push.dead_letter_policy.dead_letter_topic.endswith(names.dead_letter_topic(function))
        assert push.dead_letter_policy.max_delivery_attempts == 20
    assert sorted(found["documents"][1:]) == ["data", "nodes", "queues"]
    shown = status(config_file)
    assert (shown["nodes"], shown["sessions"], shown["transactions"]) == (1, 0, "0")
    states = {r["name"]: r["state"] for r in shown["resources"]}
    assert {states[t] for t in names.topics} == {"present"}
    for function in PUSHED_FUNCTIONS:
        assert states[names.push_subscription(function)] == f"push to {endpoint}/{function}"
        assert states[names.dead_letter_subscription(function)] == "pull"
    assert states[f"faaskeeper/{names.deployment}"] == "present"

    raw = json.loads(config_file.read_text())
    raw["gcp"]["functions-endpoint"] = "http://127.0.0.1:9"
    config_file.write_text(json.dumps(raw))
    assert "functions of" in fk("deploy", "functions", "--config", str(config_file))
    moved = resources(Config.from_file(config_file))["subscriptions"][names.push_subscription("writer")]
    assert moved.push_config.push_endpoint == "http://127.0.0.1:9/writer"

    fk("remove", "service", "--config", str(config_file))
    assert resources(config) == {"topics": [], "subscriptions": {}, "documents": []}
    gone = status(config_file)
    assert (gone["deployed"], "resources" in gone) == (False, False)


def test_a_new_users_session(
    config_file: Path, functions_process: Callable[[Path], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    fk("deploy", "service", "--provider", "gcp", "--config", str(config_file))
    functions = functions_process(config_file)
    config = Config.from_file(config_file)
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    events: list[WatchedEvent] = []
    fired = threading.Event()

    def watcher(event: WatchedEvent) -> None:
        events.append(event)
        fired.set()

    try:
        client.create("/app", b"v1")
        assert client.get_data("/app", watch=watcher).data == b"v1"
        assert client.set_data("/app", b"v2", version=0).stat.version == 1
        assert fired.wait(20)
        assert [(e.event_type.name, e.path) for e in events] == [("NODE_DATA_CHANGED", "/app")]
        job = client.create("/app/job-", b"", sequential=True)
        assert job.path == "/app/job-0000000000"
        assert client.exists("/app/none") is None
        assert [c.path for c in client.get_children("/app")] == [job.path]
        client.delete(job.path)

        # Another client's ephemeral node vanishes once that client is killed.
        worker = WorkerProcess(config, 30)
        worker.call("create", "/app/leader", ephemeral=True)
        assert client.exists("/app/leader") is not None
        worker.kill()
        wait_until(lambda: client.exists("/app/leader") is None, 30, "the killed client's ephemeral node to vanish")
        # The session itself is dropped just after its ephemeral nodes.
        wait_until(lambda: status(config_file)["sessions"] == 1, 30, "only this client's session to remain")
    finally:
        client.stop()
    assert functions.poll() is None, (tmp_path / "functions.log").read_text()
    fk("remove", "service", "--config", str(config_file))
    assert resources(config) == {"topics": [], "subscriptions": {}, "documents": []}


def test_status_shows_each_functions_queue_with_the_distributors_backlog_and_the_dead_letters(
    config_file: Path,
) -> None:
    fk("deploy", "service", "--provider", "gcp", "--config", str(config_file))
    config = Config.from_file(config_file)
    deployment = GcpDeployment(config, GcpSettings.from_config(config))
    try:
        for body in (b"first", b"second"):  # what the writer, or Pub/Sub, gave up on
            deployment.topics.dead_letter("writer", body, "refused", {})
        deployment.distributor_queue.send(b"{}", "session", "dedup")  # no distributor serves it
    finally:
        deployment.close()
    names = GcpSettings.from_config(config).names
    writer, distributor, heartbeat = (names.topic(f) for f in ("writer", "distributor", "heartbeat"))
    expected = [
        {"name": writer, "waiting": None, "in_flight": None, "dead_letters": 2},
        {"name": distributor, "waiting": 1, "in_flight": None, "dead_letters": 0},
        {"name": heartbeat, "waiting": None, "in_flight": None, "dead_letters": 0},
    ]
    assert json.loads(fk("status", "--json", "--config", str(config_file)))["queues"] == expected
    table = fk("status", "--config", str(config_file))
    rows = {line.split("│")[1].strip(): line.split("│")[2:5] for line in table.splitlines() if line.count("│") == 5}
    assert [cell.strip() for cell in rows[writer]] == ["-", "-", "2"], "counted, the dead letters stay kept"
    assert [cell.strip() for cell in rows[distributor]] == ["1", "-", "0"]


def test_the_function_host_stops_with_one_line_once_its_deployment_is_removed(
    config_file: Path, functions_process: Callable[[Path], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    fk("deploy", "service", "--provider", "gcp", "--config", str(config_file))
    functions = functions_process(config_file)
    log = tmp_path / "functions.log"
    wait_until(lambda: "serving the functions" in log.read_text(), 30, "the function host to serve")
    fk("deploy", "service", "--clean", "--config", str(config_file))  # removed for a moment: served on
    config = Config.from_file(config_file)
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    try:
        client.create("/after-clean", b"")
    finally:
        client.stop()
    time.sleep(REMOVED_AFTER + 2)
    assert functions.poll() is None, log.read_text()

    fk("remove", "service", "--config", str(config_file))
    try:
        assert functions.wait(60) == 0
    except subprocess.TimeoutExpired:
        pytest.fail(f"the function host still runs a minute after its deployment was removed:\n{log.read_text()}")
    assert "Traceback" not in log.read_text()
    messages = [line.split(" ", 3)[-1] for line in log.read_text().splitlines()]
    stops = f"the deployment {config.deployment_name!r} does not exist: the functions stop"
    assert messages[-1] == stops
    assert messages.count(stops) == 1


def test_the_function_host_stops_with_one_line_once_the_emulators_holding_its_deployment_stop(
    gcp: None, tmp_path: Path
) -> None:
    firestore, pubsub = start_firestore(tmp_path / "firestore.log"), start_pubsub(tmp_path / "pubsub.log")
    try:
        env = {**os.environ, "FIRESTORE_EMULATOR_HOST": firestore.host, "PUBSUB_EMULATOR_HOST": pubsub.host}
        config_file = tmp_path / "gcp.json"
        config_file.write_text(json.dumps(gcp_config().serialize()))
        deploy = [*FK, "deploy", "service", "--config", str(config_file)]
        subprocess.run(deploy, env=env, capture_output=True, timeout=120, check=True)
        log = tmp_path / "functions.log"
        with log.open("w") as out:
            command = [sys.executable, "-m", "faaskeeper_gcp.emulator", str(config_file)]
            functions = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        wait_until(lambda: "serving the functions" in log.read_text(), 30, "the function host to serve")
    finally:
        firestore.stop()
        pubsub.stop()
    try:
        assert functions.wait(120) == 0
    except subprocess.TimeoutExpired:
        functions.terminate()
        pytest.fail(f"the function host still runs two minutes after its emulators stopped:\n{log.read_text()}")
    assert "Traceback" not in log.read_text()
    nowhere = f"FIRESTORE_EMULATOR_HOST={firestore.host}"
    last = log.read_text().splitlines()[-1]
    assert last.endswith(f"gone with its emulator (nothing answers at {nowhere}): the functions stop")


def test_the_function_host_of_a_deployment_that_does_not_exist_says_so_in_one_line(gcp: None, tmp_path: Path) -> None:
    config_file = tmp_path / "gcp.json"
    config_file.write_text(json.dumps(gcp_config().serialize()))
    command = [sys.executable, "-m", "faaskeeper_gcp.emulator", str(config_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "does not exist: deploy it first (fk deploy service" in done.stderr


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"user-storage": "persistent"}, "user-storage"),
        ({"worker-queue": "sqs"}, "worker-queue"),
        ({"client-channel": "sqs"}, "client-channel"),
        ({"deployment-name": "no/slash"}, "deployment-name"),
        ({"max-data-size": 2_000_000}, "max-data-size"),
        ({"gcp": {"functions-endpoint": "127.0.0.1:80", "project": PROJECT}}, "gcp.functions-endpoint"),
    ],
)
def test_bad_configs_are_refused_naming_the_key(change: dict[str, Any], named: str) -> None:
    raw = {**gcp_config().serialize(), **change}
    with pytest.raises(ConfigurationException, match=named.replace(".", r"\.")):
        GcpSettings.from_config(Config.deserialize(raw))


def test_a_project_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    raw = gcp_config().serialize()
    raw["gcp"] = {"functions-endpoint": "http://127.0.0.1:8080"}
    with pytest.raises(ConfigurationException, match=r"gcp\.project"):
        GcpSettings.from_config(Config.deserialize(raw))


def test_deploy_to_a_project_needs_a_service_account(gcp: None) -> None:
    from faaskeeper.plugins.manager import get_provider

    raw = gcp_config().serialize()
    raw["gcp"] = {"project": PROJECT}
    with pytest.raises(ConfigurationException, match=r"gcp\.service-account.*functions-endpoint"):
        get_provider("gcp").deploy(Config.deserialize(raw))


def test_a_write_no_function_takes_times_out_naming_what_to_start(
    deployed: Callable[..., Config], serve: Callable[..., Any]
) -> None:
    config = deployed()
    # No function host serves the endpoint: not even the session's registration is taken.
    with pytest.raises(TimeoutException) as registering:
        FaaSKeeperClient(config, timeout=2).start()
    message = str(registering.value)
    assert message.startswith("Operation timed out after 2 [s]: no writer took the request: nothing serves"), message
    assert "'python -m faaskeeper_gcp.emulator CONFIG' runs" in message
    serve(config, schedule=False)
    with FaaSKeeperClient(config, timeout=30) as client:
        assert client.create("/taken", b"once the functions run").path == "/taken"
