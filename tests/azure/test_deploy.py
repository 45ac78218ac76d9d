"""``fk deploy service --provider azure``, ``fk deploy functions``, ``fk status`` and ``fk remove
service`` on the emulators, run as a user runs them (the ``fk`` command in a process of its own,
the emulators' endpoints given as ``--azure-*`` options or the variables the servers print) and
through the provider: every resource created for real, shown, and removed leaving nothing behind;
and what a user sees when the function host is not running."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from azure.storage.queue import QueueServiceClient

from faaskeeper.api.storage import SessionRecord
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.testing.processes import WorkerProcess
from faaskeeper.testing.support import wait_until
from faaskeeper.watch import WatchedEvent
from faaskeeper_azure.deploy.resources import queue_names
from faaskeeper_azure.deployment import AzureDeployment
from faaskeeper_azure.emulator.__main__ import main
from faaskeeper_azure.emulator.servers import Emulators, free_port
from faaskeeper_azure.queues import payload_container
from faaskeeper_azure.settings import AzureSettings

FK = [sys.executable, "-m", "faaskeeper_deploy"]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "azure.json"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*FK, *args], capture_output=True, text=True, timeout=180, check=False, cwd=cwd)


def fk(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = run(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done


def status(config_file: Path) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads(fk("status", "--json", "--config", str(config_file)).stdout)
    return shown


def found(config: Config) -> dict[str, Any]:
    """The deployment's queues, blob containers and Cosmos DB database that exist."""
    settings = AzureSettings.from_config(config)
    connection = settings.storage_connection_string
    assert connection is not None
    prefix = settings.names.prefix
    with QueueServiceClient.from_connection_string(connection) as queues:
        queue_list = sorted(q.name for q in queues.list_queues(name_starts_with=prefix))
    with BlobServiceClient.from_connection_string(connection) as blobs:
        containers = sorted(c.name for c in blobs.list_containers(name_starts_with=prefix))
    databases = [d["id"] for d in settings.cosmos().list_databases() if d["id"] == settings.database]
    settings.close()
    return {"queues": queue_list, "containers": containers, "databases": databases}


@pytest.fixture
def config_file(azure_emulators: Emulators, tmp_path: Path) -> Iterator[Path]:
    """A config naming only the deployment: the provider comes from --provider, the endpoints from
    the emulators' variables."""
    path = tmp_path / "azure.json"
    path.write_text(json.dumps({"deployment-name": f"d{uuid.uuid4().hex[:8]}", "heartbeat-frequency": 5}))
    yield path
    run("remove", "service", "--force", "--provider", "azure", "--config", str(path))


def test_deploy_status_and_remove_through_fk(config_file: Path, azure_emulators: Emulators) -> None:
    options = [
        "--azure-cosmos-endpoint",
        azure_emulators.environment()["AZURE_COSMOS_ENDPOINT"],
        "--azure-storage-connection-string",
        azure_emulators.azurite.connection_string,
        "--azure-lock-max-hold",
        "2.5",
    ]
    done = fk("deploy", "service", "--provider", "azure", "--config", str(config_file), *options)
    assert "azure: deployed" in done.stdout
    # The progress: one line per step, each resource named.
    steps = [line for line in done.stderr.splitlines() if line.startswith("azure: ")]
    config = Config.from_file(config_file)
    settings = AzureSettings.from_config(config)
    names = settings.names
    assert any(settings.database in line for line in steps), done.stderr
    assert any(names.blob_container in line for line in steps), done.stderr
    assert any(names.poison_queue("distributor") in line for line in steps), done.stderr
    assert any(f"containers {names.system_container}" in line for line in steps), done.stderr
    assert config.cloud_provider == "azure"
    assert config.provider_section["lock-max-hold"] == 2.5
    assert config.provider_section["storage-connection-string"] == azure_emulators.azurite.connection_string

    made = found(config)
    assert made["queues"] == sorted(queue_names(settings))
    assert made["containers"] == sorted([names.blob_container, payload_container(names.prefix)])
    assert made["databases"] == [settings.database]

    shown = status(config_file)
    assert (shown["provider"], shown["deployed"], shown["nodes"], shown["sessions"]) == ("azure", True, 1, 0)
    assert shown["details"]["transactions"] == "0"
    assert [(q["name"], q["waiting"], q["dead_letters"]) for q in shown["queues"]] == [
        (names.queue("writer"), 0, 0),
        (names.queue("distributor"), 0, 0),
    ]
    states = {(r["kind"], r["name"]): r["state"] for r in shown["resources"]}
    assert states[("Cosmos DB database", settings.database)] == "present"
    assert states[("Cosmos DB container", names.system_container)] == "present"
    assert states[("blob container", names.blob_container)] == "present"
    assert states[("Storage Queue", names.poison_queue("writer"))] == "present, 0 messages"
    table = fk("status", "--config", str(config_file)).stdout
    assert "queues" in table
    assert names.queue("distributor") in table
    assert "dead letters" in table

    # The emulators' function host runs the installed package: nothing to update.
    assert "up to date" in fk("deploy", "functions", "--config", str(config_file)).stdout

    fk("remove", "service", "--config", str(config_file))
    assert found(config) == {"queues": [], "containers": [], "databases": []}
    gone = status(config_file)
    assert (gone["deployed"], "resources" in gone) == (False, False)
    settings.close()


def test_status_counts_a_poison_message_and_the_distributors_backlog(config_file: Path) -> None:
    fk("deploy", "service", "--provider", "azure", "--config", str(config_file))
    config = Config.from_file(config_file)
    deployment = AzureDeployment(config, AzureSettings.from_config(config))
    try:
        deployment.queues.dead_letter(deployment.settings.names.queue("writer"), "{}", "refused")
        deployment.distributor_queue.send(b"{}", "session", "dedup")  # no distributor serves it
        names = deployment.settings.names
    finally:
        deployment.close()
    shown = {q["name"]: q for q in status(config_file)["queues"]}
    assert shown[names.queue("writer")]["dead_letters"] == 1
    assert shown[names.queue("distributor")]["waiting"] == 1
    assert shown[names.queue("distributor")]["dead_letters"] == 0


def test_remove_refuses_while_sessions_are_live_unless_forced(config_file: Path) -> None:
    fk("deploy", "service", "--provider", "azure", "--config", str(config_file))
    config = Config.from_file(config_file)
    deployment = AzureDeployment(config, AzureSettings.from_config(config))
    try:
        session = SessionRecord("s1", "tcp://127.0.0.1:9", "digest", created=time.time())
        assert deployment.system_storage.create_session(session)
    finally:
        deployment.close()
    refused = run("remove", "service", "--config", str(config_file))
    assert refused.returncode == 1
    assert "1 live session" in refused.stderr
    assert "--force" in refused.stderr
    assert found(config)["databases"], "nothing was removed"
    clean = run("deploy", "service", "--clean", "--config", str(config_file))
    assert clean.returncode == 1
    assert "--force" in clean.stderr

    done = fk("remove", "service", "--force", "--config", str(config_file))
    assert "the calls of its 1 live session now fail" in done.stdout
    assert found(config) == {"queues": [], "containers": [], "databases": []}


def test_clean_starts_over_from_the_root_alone(config_file: Path) -> None:
    fk("deploy", "service", "--provider", "azure", "--config", str(config_file))
    config = Config.from_file(config_file)
    deployment = AzureDeployment(config, AzureSettings.from_config(config))
    try:
        deployment.system_storage.create_session(SessionRecord("gone", "tcp://x:1", "d", status="closed"))
    finally:
        deployment.close()
    done = fk("deploy", "service", "--clean", "--config", str(config_file))
    assert "deleting the Cosmos DB database" in done.stderr
    shown = status(config_file)
    assert (shown["deployed"], shown["nodes"], shown["sessions"]) == (True, 1, 0)


def test_the_example_is_deployed_without_being_overwritten(azure_emulators: Emulators, tmp_path: Path) -> None:
    before = EXAMPLE.read_text()
    try:
        done = fk("deploy", "service", "--config", str(EXAMPLE), cwd=tmp_path)
        written = tmp_path / "fk-azure-demo.json"
        assert f"{EXAMPLE} is an example, left as it is" in done.stdout
        assert EXAMPLE.read_text() == before
        config = Config.from_file(written)
        assert config.provider_section["functions-endpoint"] == "http://127.0.0.1:7071"
        assert status(written)["deployed"] is True
    finally:
        run("remove", "service", "--force", "--config", str(tmp_path / "fk-azure-demo.json"))
    assert EXAMPLE.read_text() == before


def test_an_option_of_the_section_is_checked_and_blamed(config_file: Path) -> None:
    done = run("deploy", "service", "--provider", "azure", "--config", str(config_file), "--azure-location", "East US")
    assert done.returncode == 1
    assert "subscription" not in json.loads(config_file.read_text()).get("azure", {})
    done = run("deploy", "service", "--provider", "azure", "--config", str(config_file), "--azure-subscription", "nope")
    assert done.returncode == 1
    assert "'azure.subscription'" in done.stderr
    assert "(set by --azure-subscription)" in done.stderr


def test_an_azure_option_on_another_providers_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "local.json"
    shutil.copy(Path(__file__).resolve().parents[2] / "examples" / "local.json", path)
    done = run("deploy", "service", "--config", str(path), "--azure-location", "eastus")
    assert done.returncode == 1
    assert "--azure-location is an option of the azure provider" in done.stderr


def _config(emulators: Emulators, user_storage: str) -> Config:
    return Config.deserialize(
        {
            "cloud-provider": "azure",
            "deployment-name": f"d{uuid.uuid4().hex[:10]}",
            "user-storage": user_storage,
            "azure": emulators.config_section(),
        }
    )


@pytest.mark.parametrize("user_storage", ["persistent", "key-value"])
def test_deploy_status_and_remove_leave_nothing_behind(azure_emulators: Emulators, user_storage: str) -> None:
    provider = get_provider("azure")
    config = provider.deploy(_config(azure_emulators, user_storage), clean=True)
    status = provider.status(config)
    assert status["deployed"] is True
    resources = status.get("resources", [])
    assert {r["kind"] for r in resources} == {
        "Cosmos DB database",
        "Cosmos DB container",
        "blob container",
        "Storage Queue",
    }
    assert all(r["state"] != "missing" for r in resources), resources
    name = config.deployment_name
    assert f"fk-{name}-writer-poison" in {r["name"] for r in resources}
    assert ("nodes" in {r["name"] for r in resources}) is (user_storage == "key-value")
    assert (f"fk-{name}-nodes" in {r["name"] for r in resources}) is (user_storage == "persistent")
    assert status.get("sessions") == 0
    assert [(q["name"], q["waiting"], q["dead_letters"]) for q in status.get("queues", [])] == [
        (f"fk-{name}-writer", 0, 0),
        (f"fk-{name}-distributor", 0, 0),
    ]
    provider.remove(config)
    gone = provider.status(config)
    assert gone["deployed"] is False
    assert "resources" not in gone, gone.get("resources")
    provider.remove(config)  # removing what is gone is no error


def test_a_stalled_write_says_to_start_the_function_host(azure_emulators: Emulators) -> None:
    provider = get_provider("azure")
    config = provider.deploy(_config(azure_emulators, "persistent"), clean=True)
    try:
        deployment = provider.open(config)
        assert isinstance(deployment, AzureDeployment)
        try:
            assert deployment.diagnose_stalled_write() is None
            deployment.writer_queue.send(b'{"op": "create"}', "session", "session:1")
            hint = deployment.diagnose_stalled_write()
            assert hint is not None
            assert "python -m faaskeeper_azure.emulator CONFIG" in hint
            assert f"fk-{config.deployment_name}-writer" in hint
        finally:
            deployment.close()
    finally:
        provider.remove(config)


def test_the_emulator_host_refuses_a_config_it_cannot_serve_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_STORAGE_CONNECTION_STRING", raising=False)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"cloud-provider": "azure", "deployment-name": "dev", "azure": {}}))
    assert main([str(path)]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("faaskeeper_azure.emulator: error:")
    assert "storage-connection-string" in error
    assert len(error.splitlines()) == 1


@pytest.fixture
def functions_process(tmp_path: Path) -> Iterator[Callable[[Path], subprocess.Popen[bytes]]]:
    """``functions_process(config_file)``: the deployed config's functions served in their own process."""
    started: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "functions.log").open("w")

    def start(config_file: Path) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "faaskeeper_azure.emulator", str(config_file)]
        started.append(subprocess.Popen(command, stdout=log, stderr=log))
        return started[-1]

    yield start
    for proc in started:
        proc.terminate()
        proc.wait(10)
    log.close()


def test_a_new_users_session(
    config_file: Path, functions_process: Callable[[Path], subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    """The documented commands: deploy, serve the functions, a session doing every operation and a
    watch, a killed client's ephemeral node gone, fk status, and a removal leaving nothing."""
    raw = json.loads(config_file.read_text())
    raw.update({"heartbeat-frequency": 0.5, "session-timeout": 1.5})
    config_file.write_text(json.dumps(raw))
    endpoint = f"http://127.0.0.1:{free_port()}"
    fk("deploy", "service", "--provider", "azure", "--config", str(config_file), "--azure-functions-endpoint", endpoint)
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

        # Another client's ephemeral node vanishes once that client is killed, and a watcher of
        # it is told.
        worker = WorkerProcess(config, 30)
        worker.call("create", "/app/leader", ephemeral=True)
        fired.clear()
        assert client.exists("/app/leader", watch=watcher) is not None
        worker.kill()
        assert fired.wait(30), "the watcher of the killed client's ephemeral node was told"
        assert [(e.event_type.name, e.path) for e in events[1:]] == [("NODE_DELETED", "/app/leader")]
        assert client.exists("/app/leader") is None
        wait_until(lambda: status(config_file)["sessions"] == 1, 30, "only this client's session to remain")
        shown = status(config_file)
        assert shown["nodes"] == 2
        assert shown["details"]["functions endpoint"] == endpoint
    finally:
        client.stop()
    served = (tmp_path / "functions.log").read_text()
    assert functions.poll() is None, served
    assert "Traceback" not in served, served
    assert "http_logging_policy" not in served, "the host's log holds the functions' lines, not every request"
    fk("remove", "service", "--config", str(config_file))
    assert found(config) == {"queues": [], "containers": [], "databases": []}
    assert functions.wait(30) == 0, "the function host stops once its deployment is removed"
    assert "was removed" in (tmp_path / "functions.log").read_text()
