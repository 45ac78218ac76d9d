"""The Azure provider's tests: Azurite and the Cosmos DB server behind the project's launcher,
started once per test session on free ports of 127.0.0.1 (:mod:`faaskeeper_azure.emulator.servers`),
their npm packages installed first if missing. Without node or npm the tests that need them skip,
saying so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from faaskeeper_azure.emulator.servers import EmulatorMissing, Emulators, NodeMissing, running


@pytest.fixture(scope="session")
def azure_emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    """Both emulators, with the variables the provider reads pointing at them for the session."""
    logs = tmp_path_factory.mktemp("azure-emulators")
    with ExitStack() as stack:
        try:
            emulators = stack.enter_context(running(logs))
        except NodeMissing as err:
            pytest.skip(f"the Azure emulators cannot run: {err}")
        except EmulatorMissing as err:
            pytest.fail(str(err), pytrace=False)
        with pytest.MonkeyPatch.context() as environment:
            for name, value in emulators.environment().items():
                environment.setenv(name, value)
            yield emulators
