"""``faaskeeper.testing.pytest_plugin`` as a provider's project enables it: its own conftest.py
asks for it, and the deployments its tests make are gone once they finish."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFTEST = """
pytest_plugins = ["faaskeeper.testing.pytest_plugin"]
"""

TEST = """
from pathlib import Path

from faaskeeper.plugins.manager import get_provider

DEPLOYMENTS = {deployments!r}

def test_deploys_a_fresh_deployment(deploy, deployment_name):
    config = deploy(get_provider("local"), {{
        "cloud-provider": "local",
        "deployment-name": deployment_name,
        "local": {{"path": DEPLOYMENTS}},
    }})
    assert config.deployment_name == deployment_name
    assert (Path(DEPLOYMENTS) / deployment_name).is_dir()
"""


def test_a_project_enabling_the_plugin_gets_deployments_removed_after_each_test(tmp_path: Path) -> None:
    project, deployments = tmp_path / "project", tmp_path / "deployments"
    project.mkdir()
    deployments.mkdir()
    (project / "conftest.py").write_text(CONFTEST)
    (project / "test_mycloud.py").write_text(TEST.format(deployments=str(deployments)))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert list(deployments.iterdir()) == []
