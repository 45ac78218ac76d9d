"""How the local functions' invocations meet the world outside the file: nothing leaves the
process before the changes it may report are committed.

An invocation's changes share transactions (:meth:`~faaskeeper_local.storage.database.Database.invocation`);
a reply or notification on the client channel, or a fault hook's look at the deployment, must
never see the file as it was before the changes the function made up to there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from faaskeeper.api.channel import ChannelSender
from faaskeeper.api.storage import SystemStorage
from faaskeeper.protocol.settings import FaultHook, StorageFault
from faaskeeper_local.storage.database import Database


class CommittingChannel(ChannelSender):
    """The functions' client channel: commits the open invocation before each send."""

    def __init__(self, channel: ChannelSender, db: Database) -> None:
        self._channel = channel
        self._db = db

    def send(self, address: str, message: bytes) -> None:
        self._db.commit_pending()
        self._channel.send(address, message)

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        self._db.commit_pending()
        return self._channel.request(address, message, timeout)

    def close(self) -> None:
        self._channel.close()


def committing_faults(faults: FaultHook | None, db: Database) -> FaultHook | None:
    """``faults`` called with the protocol's state at each fault point committed: a hook that
    holds a function there, or kills it, finds what the protocol's step left, as it would if
    every step committed on its own."""
    if faults is None:
        return None

    def fault(point: str) -> None:
        db.commit_now()
        faults(point)

    return fault


class _CommittingStorage:
    """System storage whose every call is committed on its own."""

    def __init__(self, inner: SystemStorage, db: Database) -> None:
        self._inner = inner
        self._db = db

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute):
            return attribute

        def committed(*args: Any, **kwargs: Any) -> Any:
            result = attribute(*args, **kwargs)
            self._db.commit_now()
            return result

        return committed


def committing_writer_storage(writer_storage: StorageFault | None, db: Database) -> StorageFault | None:
    """``writer_storage`` (a broken build's view of system storage) over storage whose every call
    commits on its own: what such a build does between its calls (a cloud request's latency) is
    seen by the other processes as it would be on a cloud, not hidden inside one transaction."""
    if writer_storage is None:
        return None
    fault: Callable[[SystemStorage], SystemStorage] = writer_storage

    def view(system: SystemStorage) -> SystemStorage:
        return fault(cast(SystemStorage, _CommittingStorage(system, db)))

    return view
