"""The functions' source archive: a reproducible zip of the project's own code, as Cloud Functions
takes it (``gcloud functions deploy --source``, or the Cloud Functions API's upload URL).

At its root: ``main.py`` (the entry points, :mod:`faaskeeper_gcp.main`), ``requirements.txt``
(the pinned third-party packages the provider and the core require, which Cloud Functions
installs), and the ``faaskeeper`` and ``faaskeeper_gcp`` packages, found where they are imported
from, without caches and test code. Fixed timestamps and permissions and sorted entries make the
same code give the same bytes, so its hash names the code.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from faaskeeper.packaging import package_sources, pinned_requirements

#: Packages in the archive, by import name, and the distributions whose requirements it lists.
PACKAGES = ("faaskeeper", "faaskeeper_gcp")
DISTRIBUTIONS = ("faaskeeper-gcp", "faaskeeper")
#: Directory names left out anywhere in a package: caches, and test code the functions never import.
EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "testing"})
#: The deploy, cost, test and local-hosting modules, which the functions never import.
EXCLUDED_FILES = frozenset(
    f"faaskeeper_gcp/{name}.py"
    for name in (
        "cost/measure",
        "cost/model",
        "cost/pricing",
        "deploy/cloud",
        "deploy/cloud_apis",
        "deploy/cloud_functions",
        "deploy/package",
        "deploy/resources",
        "deploy/scheduler",
        "emulator/__main__",
        "functions/host",
    )
)
EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class SourceArchive:
    data: bytes
    files: tuple[str, ...]
    #: SHA-256 over the files' names and contents.
    digest: str

    @property
    def name(self) -> str:
        return f"faaskeeper-gcp-{self.digest[:16]}.zip"


def requirements() -> list[str]:
    """The pinned requirements of the packaged distributions, other than themselves and extras."""
    return pinned_requirements(DISTRIBUTIONS)


def _package_files(name: str) -> list[tuple[str, bytes]]:
    return package_sources(name, EXCLUDED_DIRS, EXCLUDED_FILES)


def build_source_archive() -> SourceArchive:
    main = (Path(__file__).parent.parent / "main.py").read_bytes()
    entries = [("main.py", main), ("requirements.txt", ("\n".join(requirements()) + "\n").encode())]
    entries += [entry for name in PACKAGES for entry in _package_files(name)]
    entries.sort()
    buffer = io.BytesIO()
    digest = hashlib.sha256()
    with zipfile.ZipFile(buffer, "w") as archive:
        for arcname, content in entries:
            digest.update(f"{arcname}\0{len(content)}\0".encode())
            digest.update(content)
            info = zipfile.ZipInfo(arcname, date_time=EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            archive.writestr(info, content, compresslevel=9)
    return SourceArchive(buffer.getvalue(), tuple(a for a, _ in entries), digest.hexdigest())


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m faaskeeper_gcp.deploy.package", description="Write the GCP functions' source archive."
    )
    parser.add_argument("output", help="a directory, or the .zip file to write")
    args = parser.parse_args(argv)
    archive = build_source_archive()
    output = Path(args.output)
    target = output / archive.name if output.is_dir() else output
    target.write_bytes(archive.data)
    print(target)


if __name__ == "__main__":
    main()
