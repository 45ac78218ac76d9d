"""The functions' package: a reproducible zip of the v2 app as Azure Functions deploys it.

At its root: ``function_app.py`` (the one line the Functions host imports, re-exporting
:data:`faaskeeper_azure.functions.function_app.app`), ``host.json`` (the extension bundle, and the
queue trigger's dequeue count before a message goes to the poison queue), ``requirements.txt``
(the pinned third-party packages of the provider and the core, which the remote build installs),
and the ``faaskeeper`` and ``faaskeeper_azure`` packages, found where they are imported from,
without caches, tests and the deploy, cost and emulator code the functions never import. Fixed
timestamps and sorted entries make the same code give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from faaskeeper.packaging import package_sources, pinned_requirements
from faaskeeper_azure.functions.watch import TIMEOUT as WATCH_TIMEOUT
from faaskeeper_azure.queues import MAX_DEQUEUE

PACKAGES = ("faaskeeper", "faaskeeper_azure")
DISTRIBUTIONS = ("faaskeeper-azure", "faaskeeper")
EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "testing", "deploy", "cost", "emulator"})
#: The function host of the emulators, which Azure's own host replaces.
EXCLUDED_FILES = frozenset({"faaskeeper_azure/functions/host.py"})
EPOCH = (1980, 1, 1, 0, 0, 0)
FUNCTION_APP = "from faaskeeper_azure.functions.function_app import app  # noqa: F401\n"


def host_json() -> dict[str, object]:
    minutes, seconds = divmod(int(WATCH_TIMEOUT), 60)
    return {
        "version": "2.0",
        "functionTimeout": f"00:{minutes:02d}:{seconds:02d}",
        "extensionBundle": {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"},
        "extensions": {"queues": {"maxDequeueCount": MAX_DEQUEUE, "batchSize": 1, "newBatchThreshold": 0}},
    }


@dataclass(frozen=True)
class FunctionsPackage:
    data: bytes
    files: tuple[str, ...]
    digest: str


def requirements() -> list[str]:
    """The pinned requirements of the packaged distributions, other than themselves and extras."""
    return pinned_requirements(DISTRIBUTIONS)


def _package_files(name: str) -> list[tuple[str, bytes]]:
    return package_sources(name, EXCLUDED_DIRS, EXCLUDED_FILES)


def build_package() -> FunctionsPackage:
    entries = [
        ("function_app.py", FUNCTION_APP.encode()),
        ("host.json", (json.dumps(host_json(), indent=2) + "\n").encode()),
        ("requirements.txt", ("\n".join(requirements()) + "\n").encode()),
    ]
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
    return FunctionsPackage(buffer.getvalue(), tuple(a for a, _ in entries), digest.hexdigest())
