"""Deliberately broken builds, to show the checker catches what they break (tests and soaks only).

``FK_CHECK_BROKEN=skip-lock``: the writer reads nodes without locking them (a lock is taken and
dropped at once, whoever held it) and takes its locks back just before committing, so concurrent
writes validate against the same version and overwrite each other. Each lock also takes as long
as a cloud database's request (about 10 ms), so that writers of different processes overlap as
often as they would on a cloud.

``FK_CHECK_BROKEN=stale-counter``: the writer reads each node's child counter (its cversion) one
behind, so a transaction's sequential create takes a name already given (or fails on it) and the
counter does not move on.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any, cast

from faaskeeper.api.storage import Commit, Lock, SystemNode, SystemStorage
from faaskeeper.protocol.settings import StorageFault

SWITCH = "FK_CHECK_BROKEN"
CLOUD_LATENCY = 0.01
BREAKS = ("skip-lock", "stale-counter")


class _SkipLock:
    """System storage whose locks never wait or fail; everything else passes through."""

    def __init__(self, inner: SystemStorage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        node = self._inner.lock_node(path, lock, -1e12)  # any lock counts as expired
        self._inner.unlock_node(path, lock)
        time.sleep(CLOUD_LATENCY)
        return node

    def commit(self, commit: Commit) -> bool:
        # Take the locks back from whoever took them meanwhile, so the commit never fails.
        for update in commit.updates:
            self._inner.lock_node(update.path, Lock(commit.lock_token, time.time()), -1e12)
        return self._inner.commit(commit)


class _StaleCounter:
    """System storage whose locked nodes show their child counter one behind."""

    def __init__(self, inner: SystemStorage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        node = self._inner.lock_node(path, lock, max_hold)
        if node is None or node.state.stat.cversion == 0:
            return node
        stat = node.state.stat.updated(cversion=node.state.stat.cversion - 1)
        return replace(node, state=replace(node.state, stat=stat))


def writer_storage(which: str) -> StorageFault | None:
    """What the writers of the build ``which`` names see of system storage ("": the storage itself, None)."""
    if not which:
        return None
    if which not in BREAKS:
        raise ValueError(f"{SWITCH}={which!r}: known breaks are {', '.join(BREAKS)}")
    return _skip_lock if which == "skip-lock" else _stale_counter


def _stale_counter(system: SystemStorage) -> SystemStorage:
    return cast(SystemStorage, _StaleCounter(system))


def _skip_lock(system: SystemStorage) -> SystemStorage:
    return cast(SystemStorage, _SkipLock(system))  # what it does not override passes through
