from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from faaskeeper.config import Config
from faaskeeper.kazoo import KazooClient
from faaskeeper.kazoo.testing import deploy_local


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return deploy_local(tmp_path)


@pytest.fixture
def zk(config: Config) -> Iterator[KazooClient]:
    client = KazooClient(config)
    client.start()
    yield client
    client.stop()
