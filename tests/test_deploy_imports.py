"""The modules of the fk command (``deploy/faaskeeper_deploy``) import each other without cycles
and use only each other's public names, and every package of them is one the distribution ships.

Every import statement counts, wherever it stands: at the top, inside a function, or under
``if TYPE_CHECKING:``, so that a module can be read after the ones it depends on.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = "faaskeeper_deploy"
ROOT = Path(__file__).resolve().parents[1] / "deploy" / PACKAGE


def _module_names() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name, for its ``__init__``)."""
    modules: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _module_names()


@dataclass(frozen=True)
class Use:
    """A name one module takes from another of the package."""

    module: str
    line: int
    target: str
    name: str | None  # None when the whole module is imported


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolved(module: str, node: ast.ImportFrom) -> str:
    """The absolute name of the module a ``from ... import`` reads from."""
    if node.level == 0:
        return node.module or ""
    is_package = MODULES[module].name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _uses(module: str) -> list[Use]:
    """Each module of the package that ``module`` imports, and each name it takes from one.

    A module bound to a name by an import (``from faaskeeper_deploy import cli``) counts each
    attribute read from it (``cli.build_parser``) as a name taken from that module.
    """
    tree = ast.parse(MODULES[module].read_text(), str(MODULES[module]))
    uses: list[Use] = []
    bound: dict[str, str] = {}  # local name -> module of the package it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    uses.append(Use(module, node.lineno, alias.name, None))
                    if alias.asname:
                        bound[alias.asname] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = _resolved(module, node)
            if source not in MODULES:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in MODULES:
                    uses.append(Use(module, node.lineno, submodule, None))
                    bound[alias.asname or alias.name] = submodule
                else:
                    uses.append(Use(module, node.lineno, source, alias.name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            uses.append(Use(module, node.lineno, bound[node.value.id], node.attr))
    return uses


def _graph() -> dict[str, set[str]]:
    return {module: {use.target for use in _uses(module) if use.target != module} for module in MODULES}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as the modules along it (the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph[module]):
            found = visit(target)
            if found is not None:
                return found
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        found = visit(module)
        if found is not None:
            return found
    return None


def test_the_package_is_found():
    assert {f"{PACKAGE}.cli", f"{PACKAGE}.lifecycle"} <= set(MODULES)
    assert len(MODULES) > 20


def test_no_module_takes_a_private_name_of_another():
    taken = [
        f"{use.module}:{use.line} takes {use.name} from {use.target}"
        for module in MODULES
        for use in _uses(module)
        if use.name is not None and use.target != module and _is_private(use.name)
    ]
    assert taken == []


def test_every_package_is_listed_in_pyproject():
    pyproject = tomllib.loads((ROOT.parents[1] / "pyproject.toml").read_text())
    listed = {name for name in pyproject["tool"]["setuptools"]["packages"] if name.split(".")[0] == PACKAGE}
    assert listed == {name for name, path in MODULES.items() if path.name == "__init__.py"}


def test_the_import_graph_has_no_cycle():
    assert _cycle(_graph()) is None


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b", "c"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": set(), "b": {"c"}, "c": {"b"}}, ["b", "c", "b"]),
    ],
)
def test_a_cycle_is_found_wherever_it_is(graph, expected):
    assert _cycle(graph) == expected


def test_private_names_are_told_from_public_and_dunder_ones():
    assert _is_private("_System")
    assert not _is_private("System")
    assert not _is_private("__all__")
