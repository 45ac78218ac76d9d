"""The client's side of watches: the callbacks it holds, and watch-before-data.

A watch is held locally from just before it is registered in storage until its notification
arrives (or the registration's re-read shows it raced a change, when it fires at once). A read
that shows a change a held watch has not yet been told of waits for that notification first,
so the client never sees a change's data before the change's notification. It waits for the
notification to arrive, not for callbacks to run: the notification's callbacks are handed to
the callback thread on arrival, so they run before the read's own callbacks, but they may queue
behind a slow callback that has nothing to do with the read.

As in ZooKeeper, a callback is called once per notification however many times, and by however
many kinds of read, it was set on the node; and a watch set on a version that a notification
already received shows changed fires with that notification at once (it arrived between the
read and the setting of the watch), without calling again a callback it called.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from faaskeeper import paths
from faaskeeper.api.storage import NO_NODE, WatchKind
from faaskeeper.exceptions import SessionExpiredException
from faaskeeper.node import Node
from faaskeeper.watch import FIRES, WatchCallbackType, WatchedEvent, WatchEventType

Key = tuple[str, WatchKind]


@dataclass(eq=False)
class _Held:
    counter: int
    callbacks: list[WatchCallbackType] = field(default_factory=list)


@dataclass(frozen=True)
class Owed:
    """A held watch whose notification a read showed is on its way."""

    key: Key
    held: _Held


#: How long a notification is kept for the watches set by reads that began before it arrived:
#: far longer than a read takes.
TOLD_KEPT = 60.0


@dataclass
class _Told:
    """The last notification fired on a key, the callbacks it called, and when it arrived."""

    event: WatchedEvent
    called: list[WatchCallbackType]
    at: float


#: Hands one callback and its event to the callback thread.
Dispatch = Callable[[WatchCallbackType, WatchedEvent], None]


class WatchRegistry:
    def __init__(self, dispatch: Dispatch, clock: Callable[[], float] = time.monotonic) -> None:
        self._dispatch = dispatch
        self._clock = clock
        self._held: dict[Key, _Held] = {}
        self._told: dict[Key, _Told] = {}
        self._cond = threading.Condition()
        #: The session ended: its watches were dropped, and the notifications a read waits for never come.
        self._ended = False

    def __len__(self) -> int:
        with self._cond:
            return len(self._held)

    def hold(self, path: str, kind: WatchKind, counter: int, callback: WatchCallbackType) -> int | None:
        """Hold a callback for (path, kind); returns the counter the watch is held at, or None
        where a notification already received fires it (the callback is called with it unless
        that notification called it before)."""
        key = (path, kind)
        with self._cond:
            told = self._told.get(key)
            if key not in self._held and counter != NO_NODE and told is not None and told.event.timestamp > counter:
                if callback in told.called:
                    return None
                told.called.append(callback)
                self._dispatch(callback, told.event)
                return None
            held = self._held.get(key)
            if held is None:
                held = self._held[key] = _Held(counter)
            if callback not in held.callbacks:
                held.callbacks.append(callback)
            return held.counter

    def notify(self, path: str, event: WatchEventType, txn: int) -> None:
        """A notification arrived: fire the watches it concerns that were set before ``txn``."""
        with self._cond:
            fired = [
                ((path, kind), self._held.pop((path, kind)))
                for kind in FIRES[event]
                if (path, kind) in self._held and self._held[(path, kind)].counter < txn
            ]
            self._fire(fired, WatchedEvent(event, path, txn))

    def fire_now(self, path: str, kind: WatchKind, event: WatchEventType, txn: int) -> bool:
        """Fire one held watch at once (its registration raced a change); False if already fired."""
        with self._cond:
            held = self._held.pop((path, kind), None)
            if held is None:
                return False
            self._fire([((path, kind), held)], WatchedEvent(event, path, txn))
        return True

    def _fire(self, fired: list[tuple[Key, _Held]], event: WatchedEvent) -> None:
        """Dispatch the callbacks of ``fired`` (each once), remembering the event per key."""
        called: list[WatchCallbackType] = []
        for key, held in fired:
            callbacks = [callback for callback in held.callbacks if callback not in called]
            called.extend(callbacks)
            self._told.pop(key, None)  # re-inserted last: the dict stays in arrival order
            self._told[key] = _Told(event, list(held.callbacks), self._clock())
            for callback in callbacks:
                self._dispatch(callback, event)
        self._cond.notify_all()
        self._forget_told()

    def _forget_told(self) -> None:
        """Drop the notifications kept longer than TOLD_KEPT, oldest first."""
        horizon = self._clock() - TOLD_KEPT
        while self._told:
            oldest = next(iter(self._told))
            if self._told[oldest].at > horizon:
                break
            del self._told[oldest]

    def owed(self, path: str, node: Node | None) -> list[Owed]:
        """Held watches whose notification a read of ``path`` returning ``node`` shows is on its way.

        Raises :class:`SessionExpiredException` once the session ended: its watches are gone
        unannounced, so a read may no longer show a change."""
        owed: list[Key] = []
        with self._cond:
            if self._ended:
                raise SessionExpiredException("The session ended before this read returned")
            if not self._held:
                return []
            data = self._held.get((path, WatchKind.DATA))
            if data is not None and (node is None or node.stat.mzxid > data.counter):
                owed.append((path, WatchKind.DATA))
            exists = self._held.get((path, WatchKind.EXISTS))
            if exists is not None:
                if exists.counter == NO_NODE:
                    if node is not None:
                        owed.append((path, WatchKind.EXISTS))
                elif node is None or node.stat.mzxid > exists.counter:
                    owed.append((path, WatchKind.EXISTS))
            children = self._held.get((path, WatchKind.CHILDREN))
            if children is not None and (node is None or node.stat.pzxid > children.counter):
                owed.append((path, WatchKind.CHILDREN))
            if node is not None and path != paths.ROOT:
                parent = self._held.get((paths.parent(path), WatchKind.CHILDREN))
                if parent is not None and node.stat.czxid > parent.counter:
                    owed.append((paths.parent(path), WatchKind.CHILDREN))
            return [Owed(key, self._held[key]) for key in owed]

    def wait_for(self, owed: list[Owed], timeout: float) -> list[Key]:
        """Wait until the notifications ``owed`` arrived; returns the keys of those that did not
        within ``timeout`` seconds (none: all arrived). Their callbacks may not have run yet.

        A watch set again on the same key after its notification is another watch: its
        notification is not awaited. Raises :class:`SessionExpiredException` once the session
        ended (:meth:`drop_all`): the read showed a change whose notification it can no longer
        be told, so it must not return."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._ended and owed:
                    raise SessionExpiredException(
                        "The session ended before the notifications this read showed were due arrived"
                    )
                missing = [o.key for o in owed if self._held.get(o.key) is o.held]
                remaining = deadline - time.monotonic()
                if not missing or remaining <= 0:
                    return missing
                self._cond.wait(remaining)

    def drop_all(self) -> None:
        """The session ended: forget every watch, and fail the reads waiting for notifications."""
        with self._cond:
            self._ended = True
            self._held.clear()
            self._told.clear()
            self._cond.notify_all()
