"""Firestore storage beyond the conformance suite: paths too long for a document id, and the
data limit a Firestore document imposes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from faaskeeper.api.storage import Lock
from faaskeeper.config import Config
from faaskeeper.node import Node, Stat
from faaskeeper.plugins.manager import get_provider
from faaskeeper_gcp.deployment import GcpDeployment
from faaskeeper_gcp.settings import FIRESTORE_MAX_DATA_SIZE
from faaskeeper_gcp.storage.firestore import MAX_ID, document_id


@pytest.fixture
def deployment(deployed: Callable[..., Config]) -> Iterator[GcpDeployment]:
    opened = get_provider("gcp").open(deployed())
    assert isinstance(opened, GcpDeployment)
    yield opened
    opened.close()


def test_document_ids() -> None:
    assert document_id("/") == "%2F"
    assert document_id("/a/b c") == "%2Fa%2Fb%20c"
    long = "/" + "x" * 2000
    assert document_id(long).startswith("~")
    assert len(document_id(long)) <= MAX_ID
    assert document_id(long) != document_id(long + "y")


def test_a_path_longer_than_a_document_id_is_stored(deployment: GcpDeployment) -> None:
    path = "/" + "/".join(["segment"] * 300)  # 2400 characters, ~3000 once encoded
    system, user = deployment.system_storage, deployment.user_storage
    locked = system.lock_node(path, Lock("t", 1.0), 5.0)
    assert locked is not None
    assert not locked.exists
    assert system.read_node(path) == locked
    user.write(Node(path, b"deep", Stat(czxid=3, mzxid=3, pzxid=3), []))
    stored = user.read(path)
    assert stored is not None
    assert (stored.path, stored.data) == (path, b"deep")


def test_node_data_up_to_the_limit_is_stored(deployment: GcpDeployment) -> None:
    assert get_provider("gcp").max_data_size(deployment.config) == FIRESTORE_MAX_DATA_SIZE
    data = bytes(range(256)) * (FIRESTORE_MAX_DATA_SIZE // 256)
    deployment.user_storage.write(Node("/big", data, Stat(czxid=1, mzxid=1, pzxid=1), []))
    stored = deployment.user_storage.read("/big")
    assert stored is not None
    assert stored.data == data
    seq = deployment.distributor_queue.send(b"FK1" + data, "distributor", "big")
    assert deployment.distributor_queue.positions() == (seq, 0)
