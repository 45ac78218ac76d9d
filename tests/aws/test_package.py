"""The functions' deployment package: reproducible, the project's own code only, importable on Lambda."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import botocore

from faaskeeper_aws.deploy.package import EPOCH, build_package
from faaskeeper_aws.names import ENV_CONFIG


def test_package_is_reproducible_and_holds_only_the_project_code():
    first, second = build_package(), build_package()
    assert first.data == second.data
    assert first.key == second.key
    assert first.key == f"functions/{first.digest[:32]}.zip"
    assert list(first.files) == sorted(first.files)
    assert "faaskeeper/protocol/writer.py" in first.files
    assert "faaskeeper_aws/names.py" in first.files
    for role in ("storage", "channel", "functions", "deploy", "cost"):
        assert f"faaskeeper_aws/{role}/__init__.py" in first.files, role
    assert "faaskeeper_aws/functions/handlers.py" in first.files
    for name in first.files:
        parts = name.split("/")
        assert parts[0] in ("faaskeeper", "faaskeeper_aws") or name == "typing_extensions.py", name
        assert not {"__pycache__", "testing", "tests"} & set(parts), name
        assert name.endswith(".py") or name.endswith("py.typed"), name
    with zipfile.ZipFile(io.BytesIO(first.data)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == list(first.files)
        assert {i.date_time for i in infos} == {EPOCH}
        assert {i.external_attr >> 16 for i in infos} == {0o644}
        assert archive.testzip() is None
    assert len(first.data) < 1024 * 1024


def lambda_site(tmp_path: Path) -> Path:
    """A directory with only what the Lambda Python runtime ships: boto3 and its dependencies."""
    site = tmp_path / "runtime"
    site.mkdir()
    installed = Path(botocore.__file__).resolve().parent.parent
    for entry in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"):
        if (installed / entry).exists():
            (site / entry).symlink_to(installed / entry)
    return site


def test_handlers_import_from_the_package_alone(tmp_path):
    package = build_package()
    archive = tmp_path / "package.zip"
    archive.write_bytes(package.data)
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "import faaskeeper_aws.functions.handlers as h\n"
        "assert all(callable(getattr(h, f)) for f in ('writer', 'distributor', 'heartbeat'))\n"
        "assert not any(m.startswith(('faaskeeper_local', 'pytest')) for m in sys.modules)\n"
    )
    # -S -E: no site-packages (so no editable installs), no PYTHON* variables: the zip and boto3 only.
    config = {"cloud-provider": "aws", "deployment-name": "imports", "deployment-region": "us-east-1"}
    env = {"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": "us-east-1", ENV_CONFIG: json.dumps(config)}
    result = subprocess.run(
        [sys.executable, "-S", "-E", "-c", code, str(archive), str(lambda_site(tmp_path))],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
