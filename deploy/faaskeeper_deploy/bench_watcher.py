"""The watcher process of ``fk bench --workload watch``: one client, in an OS process of its own.

``fk bench`` starts it as ``python -m faaskeeper_deploy.bench_watcher`` and drives it over its
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
from collections.abc import Callable
from typing import Any, TextIO

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.watch import WatchedEvent
from faaskeeper_deploy.bench_systems import stop_faaskeeper, stop_kazoo

#: The clock of both ends of a round: CLOCK_MONOTONIC on Linux, one clock for the whole machine.
clock = time.perf_counter_ns

#: Called by a fired watch with the clock reading taken first thing, the event type and the path.
Fired = Callable[[int, str, str], None]


class _Watched:
    """A connected client of one system that can set a one-shot data watch."""

    description: dict[str, Any]

    def arm(self, path: str, fired: Fired) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _FaaSKeeperWatched(_Watched):
    def __init__(self, config: dict[str, Any]) -> None:
        self.client = FaaSKeeperClient(Config.deserialize(config))
        self.client.start()
        self.description = {"session": self.client.session_id}

    def arm(self, path: str, fired: Fired) -> None:
        def callback(event: WatchedEvent) -> None:
            now = clock()
            fired(now, event.type, event.path)

        self.client.get_data(path, watch=callback)

    def close(self) -> None:
        stop_faaskeeper(self.client)


class _ZooKeeperWatched(_Watched):
    def __init__(self, hosts: str, timeout: float = 10.0) -> None:
        from kazoo.client import KazooClient

        self.client: Any = KazooClient(hosts=hosts, timeout=timeout)
        self.client.start(timeout=timeout)
        self.description = {"session": f"{self.client.client_id[0]:#x}"}

    def arm(self, path: str, fired: Fired) -> None:
        def callback(event: Any) -> None:
            now = clock()
            fired(now, str(event.type), str(event.path))

        self.client.get(path, watch=callback)

    def close(self) -> None:
        stop_kazoo(self.client)


class _Output:
    """Standard output, one whole line at a time, from the main thread and the callback thread."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            self._stream.write(text + "\n")
            self._stream.flush()


def _connect(spec: dict[str, Any]) -> _Watched:
    system = spec.get("system")
    if system == "faaskeeper":
        return _FaaSKeeperWatched(spec["config"])
    if system == "zookeeper":
        return _ZooKeeperWatched(str(spec["hosts"]))
    raise ValueError(f"unknown system {system!r}")


def serve(commands: TextIO, output: _Output) -> None:
    """Read the spec and the commands from ``commands``; answer through ``output``."""
    first = commands.readline()
    if not first:
        return
    spec = json.loads(first)
    path = str(spec["path"])
    watched = _connect(spec)
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
