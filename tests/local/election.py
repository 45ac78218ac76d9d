"""A leader election built only on ephemeral sequential nodes and watches (the ZooKeeper recipe).

``python election.py CONFIG_JSON NAME`` prints ``{"leader": NAME}`` once this process leads.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
from collections.abc import Callable

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import NodeExistsException
from faaskeeper.watch import WatchedEvent


def _setter(event: threading.Event) -> Callable[[WatchedEvent], None]:
    return lambda _watched: event.set()


def main() -> None:
    config = Config.deserialize(json.loads(sys.argv[1]))
    name = sys.argv[2]
    client = FaaSKeeperClient(config, timeout=30)
    client.start()
    with contextlib.suppress(NodeExistsException):
        client.create("/election", b"")
    me = client.create("/election/candidate-", name.encode(), ephemeral=True, sequential=True).path
    print(json.dumps({"candidate": name, "node": me}), flush=True)
    while True:
        children = [n.path for n in client.get_children("/election")]
        if children[0] == me:
            print(json.dumps({"leader": name}), flush=True)
            threading.Event().wait()
        predecessor = children[children.index(me) - 1]
        gone = threading.Event()
        if client.exists(predecessor, watch=_setter(gone)) is not None:
            gone.wait()


if __name__ == "__main__":
    main()
