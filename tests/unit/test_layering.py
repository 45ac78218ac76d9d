"""The core's layers: the plugin contract stands without the client, and the core without any provider."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import faaskeeper

CORE = Path(faaskeeper.__file__).parent
#: Top-level packages the core must not import: the providers, the memory plugin and the CLI.
NOT_CORE = frozenset({"faaskeeper_local", "faaskeeper_aws", "faaskeeper_gcp", "faaskeeper_memory", "faaskeeper_deploy"})

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


def imported(source: str) -> Iterator[tuple[int, str]]:
    """Each module that ``source`` imports, wherever the import is (functions included), with its
    line; ``importlib.import_module`` of a literal name counts too."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.lineno, node.args[0].value


def test_the_core_imports_no_provider_and_no_cli() -> None:
    modules = sorted(CORE.rglob("*.py"))
    assert CORE / "check" / "worker.py" in modules
    offending = [
        f"{path.relative_to(CORE.parent)}:{line}: {name}"
        for path in modules
        for line, name in imported(path.read_text())
        if name.split(".")[0] in NOT_CORE
    ]
    assert offending == []


def test_imports_are_found_inside_functions_too() -> None:
    source = """
import json
def run():
    from faaskeeper_local.settings import LocalSettings
    import faaskeeper_aws.provider as aws
    return importlib.import_module("faaskeeper_gcp")
"""
    assert {name for _, name in imported(source)} == {
        "json",
        "faaskeeper_local.settings",
        "faaskeeper_aws.provider",
        "faaskeeper_gcp",
    }
