"""The functions' deployment package: a reproducible zip of the project's own code.

It holds the ``faaskeeper`` core and ``faaskeeper_aws``, found where they are imported from, without
caches and test code, and the one module of the core's dependencies that the functions import
(``typing_extensions``). boto3 is not packaged: the Lambda Python runtime ships it. The zip has fixed
timestamps and permissions and sorted entries, so the same code gives the same bytes and its
hash names the code.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

#: Packages and single-file modules in the zip, by import name.
PACKAGES = ("faaskeeper", "faaskeeper_aws", "typing_extensions")
#: Directory names left out anywhere in a package: caches, and test code the functions never import.
EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "testing"})
SUFFIXES = frozenset({".py"})
EXTRA_FILES = frozenset({"py.typed"})
#: Zip's earliest representable time; any fixed value makes the archive reproducible.
EPOCH = (1980, 1, 1, 0, 0, 0)
KEY_PREFIX = "functions/"


@dataclass(frozen=True)
class Package:
    data: bytes
    files: tuple[str, ...]
    #: SHA-256 over the files' names and contents: independent of the zlib that compressed them.
    digest: str

    @property
    def key(self) -> str:
        """Where in the code bucket this package lives: a new key for new code."""
        return f"{KEY_PREFIX}{self.digest[:32]}.zip"


def package_root(name: str) -> Path:
    module = importlib.import_module(name)
    if module.__file__ is None:
        raise RuntimeError(f"Package {name} has no __file__: cannot package it")
    return Path(module.__file__).resolve().parent


def package_files(name: str) -> list[tuple[str, Path]]:
    """``(name in the zip, file)`` of every file of package ``name`` that belongs in the zip."""
    module = importlib.import_module(name)
    if module.__file__ is not None and not hasattr(module, "__path__"):
        return [(f"{name}.py", Path(module.__file__).resolve())]
    root = package_root(name)
    out = []
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if not path.is_file() or EXCLUDED_DIRS.intersection(relative.parts[:-1]):
            continue
        if path.suffix in SUFFIXES or path.name in EXTRA_FILES:
            out.append(((Path(name) / relative).as_posix(), path))
    return out


def build_package(packages: tuple[str, ...] = PACKAGES) -> Package:
    entries = sorted(entry for name in packages for entry in package_files(name))
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, path in entries:
            content = path.read_bytes()
            digest.update(f"{arcname}\0{len(content)}\0".encode())
            digest.update(content)
            info = zipfile.ZipInfo(arcname, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, whatever machine builds it
            archive.writestr(info, content, compresslevel=9)
    return Package(buffer.getvalue(), tuple(arcname for arcname, _ in entries), digest.hexdigest())
