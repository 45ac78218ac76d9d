"""Google Cloud SDK errors become one line of ``fk`` naming the cause and what to set: no
credentials, one emulator variable missing, an emulator variable where nothing answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faaskeeper.exceptions import ProviderException
from faaskeeper_gcp.emulator.servers import free_port
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.settings import GcpSettings

from .fixtures import gcp_config

FK = [sys.executable, "-m", "faaskeeper_deploy"]
EMULATOR_VARIABLES = ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST")
CONFIG = ["--config", "gcp.json"]
#: Every command that reaches the deployment, as a user types it.
COMMANDS = [
    ["status", *CONFIG],
    ["status", "--json", *CONFIG],
    ["deploy", "service", *CONFIG],
    ["remove", "service", *CONFIG],
    ["shell", "gcp.json", "-c", "ls /"],
]


def run_fk(tmp_path: Path, command: list[str], **variables: str) -> subprocess.CompletedProcess[str]:
    """``fk command`` in ``tmp_path`` (holding gcp.json) with the emulator variables given and no
    credentials to be found: none in the environment, no gcloud config, no metadata server."""
    (tmp_path / "gcp.json").write_text(json.dumps(gcp_config().serialize()))
    env = {k: v for k, v in os.environ.items() if k not in (*EMULATOR_VARIABLES, "GOOGLE_APPLICATION_CREDENTIALS")}
    env.update(variables, CLOUDSDK_CONFIG=str(tmp_path / "gcloud"), NO_GCE_CHECK="True")
    return subprocess.run([*FK, *command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command (the other lines of standard error are its steps)."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, done.stderr
    return errors[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_without_the_emulator_variables_or_credentials_every_command_says_what_to_set(
    tmp_path: Path, command: list[str]
) -> None:
    line = error_line(run_fk(tmp_path, command))
    assert "no credentials" in line
    assert "gcloud auth application-default login" in line
    assert "set FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST" in line


def test_with_one_emulator_variable_the_other_is_named(tmp_path: Path, gcp: None) -> None:
    firestore = os.environ["FIRESTORE_EMULATOR_HOST"]
    line = error_line(run_fk(tmp_path, ["status", *CONFIG], FIRESTORE_EMULATOR_HOST=firestore))
    assert "GCP connect to Pub/Sub failed: no credentials" in line
    assert "set PUBSUB_EMULATOR_HOST too (FIRESTORE_EMULATOR_HOST is set)" in line


def test_an_emulator_variable_where_nothing_answers_fails_at_once_naming_it(tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    done = run_fk(tmp_path, ["status", *CONFIG], FIRESTORE_EMULATOR_HOST=nowhere, PUBSUB_EMULATOR_HOST=nowhere)
    line = error_line(done)  # not the clients' five minutes of retries (the run's timeout is two)
    assert f"nothing answers at FIRESTORE_EMULATOR_HOST={nowhere}" in line
    assert "python -m faaskeeper_gcp.emulator.servers" in line


def test_a_missing_topic_gets_a_hint(gcp: None) -> None:
    settings = GcpSettings.from_config(gcp_config())
    try:
        with pytest.raises(ProviderException, match=r"NotFound: .*fk deploy service"), gcp_errors("publish"):
            settings.publisher().get_topic(topic=f"projects/{settings.project}/topics/absent")
    finally:
        settings.close()
