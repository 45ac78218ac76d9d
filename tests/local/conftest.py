from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper_local.provider import LocalProvider


def local_config(directory: Path, name: str = "test", **local: object) -> Config:
    """The config of a local deployment in ``directory``, deployed (opening one that is not fails)."""
    section: dict[str, object] = {"path": str(directory), "lock-max-hold": 1, "visibility-timeout": 1}
    section.update(local)
    config = Config.deserialize({"cloud-provider": "local", "deployment-name": name, "local": section})
    return LocalProvider().deploy(config)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return local_config(tmp_path)


@pytest.fixture
def client(config: Config) -> Iterator[FaaSKeeperClient]:
    c = FaaSKeeperClient(config, timeout=20)
    c.start()
    yield c
    if c.session_id is not None:
        c.stop()


@pytest.fixture
def other(config: Config) -> Iterator[FaaSKeeperClient]:
    c = FaaSKeeperClient(config, timeout=20)
    c.start()
    yield c
    if c.session_id is not None:
        c.stop()
