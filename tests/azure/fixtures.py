"""The Azure provider's tests: Azurite and the Cosmos DB server behind the project's launcher,
started once per test session on free ports of 127.0.0.1 (:mod:`faaskeeper_azure.emulator.servers`),
their npm packages installed first if missing. Without node or npm the tests that need them skip,
saying so."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from faaskeeper_azure.emulator.servers import EmulatorMissing, Emulators, NodeMissing, running


@pytest.fixture(scope="session")
def azure_emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """Both emulators, with the variables the provider reads pointing at them for the session."""
    logs = tmp_path_factory.mktemp("azure-emulators")
    try:
        context = running(logs)
        emulators = context.__enter__()
    except NodeMissing as err:
        pytest.skip(f"the Azure emulators cannot run: {err}")
    except EmulatorMissing as err:
        pytest.fail(str(err), pytrace=False)
    saved = {name: os.environ.get(name) for name in emulators.environment()}
    os.environ.update(emulators.environment())
    try:
        yield emulators
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        context.__exit__(None, None, None)
