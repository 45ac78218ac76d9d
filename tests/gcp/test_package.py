"""The functions' source archive: self-contained, reproducible, loadable by functions-framework."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from faaskeeper_gcp.deploy.package import build_source_archive


def test_the_archive_is_reproducible_and_holds_only_function_code() -> None:
    first, second = build_source_archive(), build_source_archive()
    assert first.data == second.data
    assert first.name == second.name
    assert {
        "main.py",
        "requirements.txt",
        "faaskeeper/protocol/writer.py",
        "faaskeeper/protocol/sequencer.py",
        "faaskeeper_gcp/functions/handlers.py",
        "faaskeeper_gcp/storage/system.py",
    } <= set(first.files)
    assert not [f for f in first.files if "/testing/" in f or f.endswith("functions/host.py")]
    assert not [
        f for f in first.files if f in ("faaskeeper_gcp/emulator/__main__.py", "faaskeeper_gcp/deploy/cloud.py")
    ]


def test_requirements_are_the_pinned_third_party_packages(tmp_path: Path) -> None:
    archive = tmp_path / "source.zip"
    archive.write_bytes(build_source_archive().data)
    with zipfile.ZipFile(archive) as opened:
        listed = opened.read("requirements.txt").decode().split()
    names = {line.split("==")[0].lower() for line in listed}
    assert {"google-cloud-firestore", "google-cloud-pubsub", "functions-framework", "pluggy"} <= names
    assert all("==" in line for line in listed)
    assert not names & {"faaskeeper", "faaskeeper-gcp"}


def test_functions_framework_loads_the_entry_points_from_the_archive(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "faaskeeper_gcp.deploy.package", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    source = tmp_path / "source"
    with zipfile.ZipFile(out.stdout.strip()) as opened:
        opened.extractall(source)
    # Deployed without a trigger, Cloud Functions starts them as HTTP functions: the pushed ones stay
    # CloudEvent ones, the watch function is one.
    probe = (
        "import os, functions_framework, faaskeeper, faaskeeper_gcp\n"
        "for target in ('writer', 'distributor', 'heartbeat', 'watch'):\n"
        "    functions_framework.create_app(target=target, source='main.py', signature_type='http')\n"
        "    expected = 'http' if target == 'watch' else 'cloudevent'\n"
        "    assert os.environ['FUNCTION_SIGNATURE_TYPE'] == expected, target\n"
        "print(faaskeeper.__file__)\nprint(faaskeeper_gcp.__file__)\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=source, capture_output=True, text=True, check=True
    ).stdout.split()
    assert [Path(p).resolve().parent.parent for p in loaded] == [source.resolve()] * 2
