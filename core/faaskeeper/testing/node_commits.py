"""Node rows written as the writer writes them, for the system storage suites."""

from __future__ import annotations

import time
import uuid

from faaskeeper.api.storage import Commit, Lock, NodeState, NodeUpdate, SystemStorage
from faaskeeper.node import Stat

HOLD = 5.0


def new_lock(timestamp: float | None = None) -> Lock:
    return Lock(uuid.uuid4().hex, time.time() if timestamp is None else timestamp)


def create_node(storage: SystemStorage, path: str, txn: int, *, owner: str | None = None, data: bytes = b"") -> Lock:
    """Lock ``path`` and its parent, commit the creation of ``path`` as transaction ``txn``."""
    parent = path.rsplit("/", 1)[0] or "/"
    lock = new_lock()
    parent_node = storage.lock_node(parent, lock, HOLD)
    assert parent_node is not None
    assert parent_node.exists
    assert storage.lock_node(path, lock, HOLD) is not None
    children = tuple(sorted({*parent_node.state.children, path.rsplit("/", 1)[1]}))
    parent_stat = parent_node.state.stat.updated(
        cversion=parent_node.state.stat.cversion + 1, num_children=len(children)
    )
    stat = Stat(ctime=1000, mtime=1000, ephemeral_owner=owner, data_length=len(data))
    commit = Commit(
        txn=txn,
        lock_token=lock.token,
        updates=(
            NodeUpdate(path, NodeState(True, stat), created=True),
            NodeUpdate(parent, NodeState(True, parent_stat, children), children_changed=True),
        ),
        session_id=owner or "",
        request_seq=None,
    )
    assert storage.commit(commit), f"the commit creating {path} was refused"
    return lock


def delete_node(storage: SystemStorage, path: str, txn: int) -> None:
    """Lock ``path`` and its parent, commit its deletion (a tombstone) as transaction ``txn``."""
    parent = path.rsplit("/", 1)[0] or "/"
    lock = new_lock()
    parent_node = storage.lock_node(parent, lock, HOLD)
    node = storage.lock_node(path, lock, HOLD)
    assert parent_node is not None
    assert node is not None
    children = tuple(c for c in parent_node.state.children if c != path.rsplit("/", 1)[1])
    parent_stat = parent_node.state.stat.updated(num_children=len(children))
    commit = Commit(
        txn=txn,
        lock_token=lock.token,
        updates=(
            NodeUpdate(path, NodeState(False, node.state.stat), modified=True),
            NodeUpdate(parent, NodeState(True, parent_stat, children), children_changed=True),
        ),
        session_id="",
        request_seq=None,
    )
    assert storage.commit(commit), f"the commit deleting {path} was refused"


def set_node_data(storage: SystemStorage, path: str, txn: int) -> None:
    """Lock ``path`` and commit a change of its data as transaction ``txn``."""
    lock = new_lock()
    node = storage.lock_node(path, lock, HOLD)
    assert node is not None
    assert node.exists
    stat = node.state.stat.updated(version=node.state.stat.version + 1)
    update = NodeUpdate(path, NodeState(True, stat, node.state.children), modified=True)
    assert storage.commit(Commit(txn, lock.token, (update,), "", None)), f"the commit changing {path} was refused"
