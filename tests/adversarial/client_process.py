"""A client in a process of its own: ``python client_process.py CONFIG_JSON ACTION ARG``.

Prints one JSON line per event, flushed at once, so that the test knows exactly what was
acknowledged, and when (``at``: ``time.time()`` of the acknowledgement):

* ``stream PREFIX``: creates ``PREFIX-0``, ``PREFIX-1``, ... until a call fails, then reports
  the failure and exits;
* ``create PATH``: creates ``PATH``, reports it, closes the session.
"""

from __future__ import annotations

import json
import sys
import time

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config


def emit(**record: object) -> None:
    sys.stdout.write(json.dumps({**record, "at": time.time()}) + "\n")
    sys.stdout.flush()


def main() -> None:
    config = Config.deserialize(json.loads(sys.argv[1]))
    action, argument = sys.argv[2], sys.argv[3]
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    emit(event="started")
    try:
        if action == "stream":
            index = 0
            while True:
                path = client.create(f"{argument}-{index}").path
                emit(event="ack", path=path)
                index += 1
        elif action == "create":
            emit(event="ack", path=client.create(argument).path)
            client.stop()
            emit(event="stopped")
    except Exception as err:
        emit(event="error", error=type(err).__name__, message=str(err))


if __name__ == "__main__":
    main()
