"""The provider's role packages import nothing on their own (the layout itself is checked for every
provider by tests/unit/test_provider_layout.py)."""

from __future__ import annotations

import subprocess
import sys

PACKAGES = ("storage", "channel", "functions", "deploy", "cost", "emulator")


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
