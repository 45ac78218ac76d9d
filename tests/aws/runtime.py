"""Waiting for the AWS runtime modules, written concurrently with the deployment code.

Deploying creates the root node through the runtime's storage classes; until those modules exist,
the tests that deploy wait for them a while and then skip, saying why.
"""

from __future__ import annotations

import importlib
import time
from pathlib import Path

import pytest

import faaskeeper_aws

PACKAGE = Path(faaskeeper_aws.__file__).resolve().parent
#: What ``faaskeeper_aws.deployment`` imports, and the Lambda entry points.
STORAGE_MODULES = ("dynamodb", "s3", "sqs", "channel")
HANDLER_MODULES = ("handlers",)


def wait_for_modules(modules: tuple[str, ...], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        missing = [m for m in modules if not (PACKAGE / f"{m}.py").exists()]
        if not missing:
            break
        if time.monotonic() > deadline:
            pytest.skip(f"faaskeeper_aws runtime modules not written yet: {', '.join(missing)}")
        time.sleep(0.5)
    importlib.invalidate_caches()
