"""The watcher process of ``fk bench --workload watch``: one client, in an OS process of its own.

``fk bench`` starts it as ``python -m faaskeeper_deploy.bench.watcher`` and drives it over its
standard streams, one line at a time. The first line it reads is a JSON object naming the system
and how to reach it, and the node to watch::

    {"system": "faaskeeper", "config": {...Config.serialize()...}, "path": "/fk-bench-.../watched"}
    {"system": "zookeeper", "hosts": "127.0.0.1:2181", "path": "/fk-bench-.../watched"}

It answers ``started {JSON description}`` once connected, then serves commands:

``arm``
    set a one-shot data watch on the node (``get_data(path, watch=...)`` / kazoo's
    ``get(path, watch=...)``) and answer ``ready`` once the watch is registered;
``clock``
    answer ``clock NS``, the current :func:`time.perf_counter_ns`, so that the bench can check
    that both processes read one clock;
``quit`` (or the end of its input)
    close the client and exit.

When an armed watch fires, the callback first reads the clock and then writes
``fired NS TYPE PATH``. Anything that goes wrong is reported as ``error MESSAGE`` before exiting
with status 1. Nothing else is written to standard output; logging goes to standard error.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from typing import TextIO

from faaskeeper_deploy.bench.watch_clients import clock, connect


class _Output:
    """Standard output, one whole line at a time, from the main thread and the callback thread."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()


def serve(commands: TextIO, output: _Output) -> None:
    """Read the spec and the commands from ``commands``; answer through ``output``."""
    first = commands.readline()
    if not first:
        return
    spec = json.loads(first)
    path = str(spec["path"])
    watched = connect(spec)
    try:
        info = time.get_clock_info("perf_counter")
        output.line(
            "started "
            + json.dumps(
                {
                    **watched.description,
                    "clock": info.implementation,
                    "monotonic": info.monotonic,
                    "adjustable": info.adjustable,
                }
            )
        )

        def fired(now: int, event_type: str, event_path: str) -> None:
            output.line(f"fired {now} {event_type} {event_path}")

        for line in commands:
            command = line.strip()
            if command == "arm":
                watched.arm(path, fired)
                output.line("ready")
            elif command == "clock":
                output.line(f"clock {clock()}")
            elif command == "quit":
                break
            else:
                raise ValueError(f"unknown command {command!r}")
    finally:
        watched.close()


def main() -> int:
    # Ctrl-C at a terminal reaches the whole process group: the bench decides when this one quits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    output = _Output(sys.stdout)
    try:
        serve(sys.stdin, output)
    except Exception as err:
        output.line(f"error {type(err).__name__}: {' '.join(str(err).split())}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
