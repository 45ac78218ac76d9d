"""Ctrl-C during ``fk bench``: honoured between calls, never inside one.

A KeyboardInterrupt raised in the middle of a client call can leave its session unusable (a write
that took its sequence number but was never sent holds up every later write of the session), and
then the cleanup after the run fails. So while a workload runs, SIGINT only asks it to stop: the
workloads call :func:`check` between calls, which raises KeyboardInterrupt once asked, and the
run ends as interrupted with every finished call kept. A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()
#: How many :func:`deferred` blocks are open (a suite's holds its runs').
_depth = 0


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed since the workload began."""
    if _requested.is_set():
        raise KeyboardInterrupt


def requested() -> bool:
    """Whether Ctrl-C was pressed since the workload began."""
    return _requested.is_set()


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, the first SIGINT sets the request :func:`check` sees; the second raises.

    Blocks nest: only the outermost one clears the request and installs the handler. Only the
    main thread receives signals: elsewhere the block runs as it is."""
    global _depth
    if _depth > 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested.clear()

    def ask(signum: int, frame: FrameType | None) -> None:
        if _requested.is_set():
            raise KeyboardInterrupt
        _requested.set()

    previous = signal.signal(signal.SIGINT, ask)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        signal.signal(signal.SIGINT, previous)
