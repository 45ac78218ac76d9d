"""The GCP provider's tests: the official emulators, started once per test session, and a fresh
deployment per test whose functions functions-framework serves on 127.0.0.1, fed by real Pub/Sub
push subscriptions."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from faaskeeper_gcp.emulator.servers import (
    Emulator,
    EmulatorMissing,
    clear_firestore,
    free_port,
    start_firestore,
    start_pubsub,
)

if TYPE_CHECKING:
    from faaskeeper.config import Config
    from faaskeeper_gcp.functions.host import FunctionServer

PROJECT = "faaskeeper-test"


@pytest.fixture(scope="session")
def gcp_emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Emulator, Emulator]]:
    logs = tmp_path_factory.mktemp("gcp-emulators")
    started: list[Emulator] = []
    try:
        started.append(start_firestore(logs / "firestore.log"))
        started.append(start_pubsub(logs / "pubsub.log"))
    except EmulatorMissing as err:
        for emulator in started:
            emulator.stop()
        pytest.fail(str(err), pytrace=False)
    firestore, pubsub = started
    saved = {k: os.environ.get(k) for k in ("FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST")}
    os.environ["FIRESTORE_EMULATOR_HOST"] = firestore.host
    os.environ["PUBSUB_EMULATOR_HOST"] = pubsub.host
    yield firestore, pubsub
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    for emulator in started:
        emulator.stop()


@pytest.fixture
def gcp(gcp_emulators: tuple[Emulator, Emulator]) -> Iterator[None]:
    """The emulators, with Firestore emptied after the test (Pub/Sub resources are per deployment)."""
    yield
    clear_firestore(gcp_emulators[0], PROJECT)


def gcp_config(
    *,
    heartbeat: float = 0.5,
    session_timeout: float = 1.5,
    channel: str = "tcp",
    watch_fanout: int | None = None,
    **section: Any,
) -> Config:
    from faaskeeper.config import Config

    fanout = {} if watch_fanout is None else {"watch-fanout": watch_fanout}
    return Config.deserialize(
        {
            **fanout,
            "cloud-provider": "gcp",
            "deployment-name": f"t{uuid.uuid4().hex[:10]}",
            "user-storage": "key-value",
            "worker-queue": "pubsub",
            "distributor-queue": "pubsub",
            "client-channel": channel,
            "heartbeat-frequency": heartbeat,
            "session-timeout": session_timeout,
            "gcp": {"project": PROJECT, "functions-endpoint": f"http://127.0.0.1:{free_port()}", **section},
        }
    )


@pytest.fixture
def deployed(gcp: None) -> Iterator[Callable[..., Config]]:
    """``deployed(**options)``: a fresh deployment (removed after the test); its config."""
    from faaskeeper.plugins.manager import get_provider

    provider = get_provider("gcp")
    made: list[Config] = []

    def deploy(**options: Any) -> Config:
        config = provider.deploy(gcp_config(**options), clean=True)
        made.append(config)
        return config

    yield deploy
    for config in made:
        provider.remove(config)


@pytest.fixture
def serve() -> Iterator[Callable[..., FunctionServer]]:
    """``serve(config)``: the deployment's functions served by functions-framework (stopped after the test)."""
    from faaskeeper_gcp.functions.host import FunctionServer

    started: list[FunctionServer] = []

    def start(config: Config, **options: Any) -> FunctionServer:
        server = FunctionServer(config, **options)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
