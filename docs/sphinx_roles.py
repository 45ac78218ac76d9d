"""A Griffe extension for the API reference: the Sphinx roles of FaaSKeeper's docstrings
(``:class:`~faaskeeper.api.queue.PollingQueue```) become mkdocstrings cross-references.

A role naming an object of a module the reference shows becomes a link, which ``mkdocs build
--strict`` fails on if nothing answers to it; a role naming anything else becomes code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import griffe

#: The modules the API reference pages render (docs/reference/*.md), and so may link into.
DOCUMENTED = (
    "faaskeeper.client",
    "faaskeeper.config",
    "faaskeeper.exceptions",
    "faaskeeper.node",
    "faaskeeper.watch",
    "faaskeeper.api",
    "faaskeeper.plugins.hookspecs",
)

ROLE = re.compile(r":(?:class|meth|func|mod|attr|exc|data|obj):`(~?)([^`<>]+)`")


class SphinxRoles(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        for obj in _objects(pkg):
            docstring = obj.docstring
            if docstring is not None and ":" in docstring.value:
                docstring.value = _linked(obj, docstring.value)


def _linked(scope: griffe.Object, text: str) -> str:
    def reference(match: re.Match[str]) -> str:
        return _reference(scope, match)

    return ROLE.sub(reference, text)


def _objects(obj: griffe.Object) -> Iterator[griffe.Object]:
    yield obj
    for member in obj.members.values():
        if isinstance(member, griffe.Object):
            yield from _objects(member)


def _reference(scope: griffe.Object, match: re.Match[str]) -> str:
    short, target = match.group(1) == "~", match.group(2).strip()
    shown = target.rsplit(".", 1)[-1] if short else target
    path = _resolved(scope, target)
    if path is None or not _documented(path):
        return f"`{shown}`"
    return f"[`{shown}`][{path}]"


def _resolved(scope: griffe.Object, target: str) -> str | None:
    if target.startswith("faaskeeper."):
        return target
    first, _, rest = target.partition(".")
    try:
        base = scope.resolve(first)
    except griffe.NameResolutionError:
        return None
    return f"{base}.{rest}" if rest else base


def _documented(path: str) -> bool:
    if any(part.startswith("_") for part in path.split(".")):
        return False
    return any(path == module or path.startswith(module + ".") for module in DOCUMENTED)
