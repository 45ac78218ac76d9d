from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from . import stackless as made
from .moto import MotoServer, apply_environment

if TYPE_CHECKING:
    from faaskeeper.config import Config
    from faaskeeper_aws.functions.host import LambdaEmulator


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(tmp_path_factory.mktemp("moto") / "moto.log")
    apply_environment(server.endpoint)
    yield server
    server.stop()


@pytest.fixture
def stackless(moto_server: MotoServer) -> Callable[..., Config]:
    """``stackless(storage=..., channel=..., ...)``: a fresh deployment made without a stack; its config."""

    def make(**options: Any) -> Config:
        cfg = made.config(**options)
        made.create(cfg)
        return cfg

    return make


@pytest.fixture
def emulate() -> Iterator[Callable[..., LambdaEmulator]]:
    """``emulate(config, **options)``: the deployment's functions running (stopped after the test)."""
    from faaskeeper_aws.functions.deployed import local_functions
    from faaskeeper_aws.settings import AwsSettings

    started: list[LambdaEmulator] = []

    def start(cfg: Config, **options: Any) -> LambdaEmulator:
        emulator = local_functions(cfg, AwsSettings.from_config(cfg), **options)
        emulator.start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()
