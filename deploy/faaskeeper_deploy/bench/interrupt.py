"""Ctrl-C during ``fk bench``: honoured between calls, never inside one; a second one stops at once.

A KeyboardInterrupt raised in the middle of a client call can leave its session unusable (a write
that took its sequence number but was never sent holds up every later write of the session), and
then the cleanup after the run fails. So while a workload runs, SIGINT only asks it to stop: the
workloads call :func:`check` between calls, which raises KeyboardInterrupt once asked, and the
run ends as interrupted with every finished call kept, then cleans up.

A second Ctrl-C interrupts at once, wherever the run is, and marks the run :func:`abandoned`: the
cleanup that talks to the systems under test (removing the run's nodes, closing its sessions) is
skipped, since a session cut mid-call may answer nothing until its timeouts; processes the bench
started are killed rather than awaited. What was measured is still kept. (``timeout -s INT``
without ``--foreground`` sends SIGINT twice: to the command and to its process group.)
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()
_abandoned = threading.Event()
#: How many :func:`deferred` blocks are open (a suite's holds its runs').
_depth = 0


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed since the workload began."""
    if _requested.is_set():
        raise KeyboardInterrupt


def requested() -> bool:
    """Whether Ctrl-C was pressed since the workload began."""
    return _requested.is_set()


def abandoned() -> bool:
    """Whether Ctrl-C was pressed twice: skip the cleanup on the systems, kill rather than wait."""
    return _abandoned.is_set()


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, the first SIGINT sets the request :func:`check` sees; the second (and any
    later one) marks the run :func:`abandoned` and raises KeyboardInterrupt.

    Blocks nest: only the outermost one clears the request and installs the handler, and restores
    the handler it found. Only the main thread receives signals: elsewhere the block runs as it is."""
    global _depth
    if _depth > 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested.clear()
    _abandoned.clear()

    def ask(signum: int, frame: FrameType | None) -> None:
        if _requested.is_set():
            _abandoned.set()
            raise KeyboardInterrupt
        _requested.set()

    previous = signal.signal(signal.SIGINT, ask)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        signal.signal(signal.SIGINT, previous)
