"""Provider packages name their modules by role, so that ``ls providers/*/faaskeeper_*`` lines up:
cloud-specific helpers live under a role (``storage/firestore.py``), never beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

PROVIDERS = Path(__file__).resolve().parents[2] / "providers"
#: Every name a provider package may hold at its top, as a module or a package of the same name.
ROLES = frozenset(
    {
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
        # The Cloud Functions source file, which the platform looks for at the archive's root.
        "main",
    }
)


@pytest.mark.parametrize("provider", ["local", "aws", "gcp", "azure"])
def test_a_provider_package_holds_only_role_names(provider: str) -> None:
    package = PROVIDERS / provider / f"faaskeeper_{provider}"
    names = {p.stem for p in package.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()}
    assert names <= ROLES, f"not a role: {sorted(names - ROLES)}"
    assert {"plugin", "provider", "deployment", "settings", "storage", "queues"} <= names
    storage = {p.stem for p in (package / "storage").glob("*.py")}
    assert {"__init__", "system", "user"} <= storage
