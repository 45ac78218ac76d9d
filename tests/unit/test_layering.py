"""The core's layers: the plugin contract stands without the client, and the core without any provider."""

from __future__ import annotations

import json
import subprocess
import sys

#: Modules that the plugin contract must not load: the client and what drives one.
NOT_CONTRACT = ("faaskeeper.client", "faaskeeper.measure", "faaskeeper.check", "faaskeeper_local", "faaskeeper_deploy")

LOAD_CONTRACT = """
import importlib, json, pkgutil, sys
import faaskeeper.api
for module in pkgutil.walk_packages(faaskeeper.api.__path__, "faaskeeper.api."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def _loaded_by(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_importing_the_plugin_contract_loads_no_client() -> None:
    loaded = _loaded_by(LOAD_CONTRACT)
    assert "faaskeeper.api.cost" in loaded, "every module of the contract was imported"
    assert [m for m in loaded if any(_within(m, package) for package in NOT_CONTRACT)] == []


def test_the_check_finds_a_client_module_when_one_is_loaded() -> None:
    loaded = _loaded_by(LOAD_CONTRACT.replace("import faaskeeper.api\n", "import faaskeeper.api, faaskeeper.measure\n"))
    assert [m for m in loaded if any(_within(m, package) for package in NOT_CONTRACT)] != []
