"""What a provider packages with its functions: the packages' source files and the pinned
requirements of their distributions, shared by the providers that upload their own source."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from collections.abc import Iterable
from pathlib import Path


def pinned_requirements(distributions: Iterable[str]) -> list[str]:
    """The pinned requirements of ``distributions``, other than themselves and their extras."""
    distributions = list(distributions)
    own = {d.replace("-", "_") for d in distributions}
    found: set[str] = set()
    for distribution in distributions:
        for requirement in importlib.metadata.requires(distribution) or []:
            if "extra ==" in requirement:
                continue
            name = re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0]
            if name.replace("-", "_").lower() not in own:
                found.add(requirement.split(";")[0].strip())
    return sorted(found, key=str.lower)


def package_sources(
    name: str, excluded_dirs: frozenset[str], excluded_files: frozenset[str]
) -> list[tuple[str, bytes]]:
    """``(name in the archive, content)`` of the ``.py`` files and ``py.typed`` of package ``name``,
    leaving out ``excluded_dirs`` anywhere in it and ``excluded_files`` by archive name."""
    module = importlib.import_module(name)
    if module.__file__ is None:
        raise RuntimeError(f"Package {name} has no __file__: cannot package it")
    root = Path(module.__file__).resolve().parent
    out = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        arcname = (Path(name) / relative).as_posix()
        if not path.is_file() or excluded_dirs.intersection(relative.parts[:-1]) or arcname in excluded_files:
            continue
        if path.suffix == ".py" or path.name == "py.typed":
            out.append((arcname, path.read_bytes()))
    return out
