"""The provider package is laid out by role, and its role packages import nothing on their own."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import faaskeeper_aws

#: The role names every provider package uses, plus the SQS message bodies the queues and the
#: client channel share.
ROLES = {
    "__init__",
    "plugin",
    "provider",
    "deployment",
    "settings",
    "errors",
    "names",
    "storage",
    "queues",
    "channel",
    "functions",
    "deploy",
    "cost",
    "emulator",
    "payload",
}
PACKAGES = ("storage", "channel", "functions", "deploy", "cost", "emulator")


def test_the_package_root_holds_only_role_names():
    root = Path(faaskeeper_aws.__file__).parent
    entries = {
        path.stem
        for path in root.iterdir()
        if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert entries == ROLES


def test_role_packages_import_nothing_of_their_own():
    """Importing a role package loads none of its modules: the Lambda functions import the handlers
    without the deploy code, and a storage helper without the storages built over it."""
    code = (
        "import sys\n"
        f"for name in {PACKAGES!r}: __import__('faaskeeper_aws.' + name)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('faaskeeper_aws.'))\n"
        f"print(*[m for m in loaded if m.removeprefix('faaskeeper_aws.') not in {PACKAGES!r}])\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == []
