"""A client process for multi-process tests: ``python worker.py CONFIG_JSON ACTION [ARGS...]``.

Prints one JSON line per acknowledged operation, flushed at once, so a test that kills this
process knows exactly which writes were acknowledged.
"""

from __future__ import annotations

import json
import os
import sys
import time

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config


def emit(**record: object) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def main() -> None:
    config = Config.deserialize(json.loads(sys.argv[1]))
    action = sys.argv[2]
    args = sys.argv[3:]
    if action == "crash-at":
        # Die like kill -9 when a function reaches the named step.
        import faaskeeper_local.deployment as deployment

        point = args[0]

        def fault(name: str) -> None:
            if name == point:
                os._exit(137)

        deployment.process_faults = fault
        args = args[1:]
        action = args.pop(0)
    if action == "die-at-send":
        # Die like kill -9 at the functions' Nth send on the client channel, before the commit
        # that precedes it: what they changed since their last commit is lost with the process.
        from faaskeeper_local import functions

        deadly = int(args[0])
        sent = 0
        send = functions.CommittingChannel.send

        def dying_send(self: functions.CommittingChannel, address: str, message: bytes) -> None:
            nonlocal sent
            sent += 1
            if sent == deadly:
                os._exit(137)
            send(self, address, message)

        functions.CommittingChannel.send = dying_send  # type: ignore[method-assign]
        args = args[1:]
        action = args.pop(0)
    client = FaaSKeeperClient(config, timeout=30)
    emit(op="session", session=client.start())
    if action == "stream":
        # Writes until killed: creates prefix-N, then sets it to its index.
        prefix = args[0]
        i = 0
        while True:
            node = client.create(f"{prefix}-{i}", str(i).encode())
            emit(op="create", path=node.path, zxid=node.stat.czxid)
            node = client.set_data(prefix, str(i).encode())
            emit(op="set", path=prefix, value=str(i), version=node.stat.version)
            i += 1
    elif action == "ephemeral-and-wait":
        node = client.create(args[0], b"", ephemeral=True)
        emit(op="create", path=node.path)
        time.sleep(600)
    elif action == "script":
        for line in args:
            op = json.loads(line)
            try:
                if op["op"] == "create":
                    node = client.create(
                        op["path"], op.get("data", "").encode(), op.get("ephemeral", False), op.get("sequential", False)
                    )
                    emit(op="create", path=node.path, ok=True)
                elif op["op"] == "set":
                    node = client.set_data(op["path"], op["data"].encode(), op.get("version", -1))
                    emit(op="set", path=op["path"], version=node.stat.version, ok=True)
                elif op["op"] == "delete":
                    client.delete(op["path"], op.get("version", -1))
                    emit(op="delete", path=op["path"], ok=True)
                elif op["op"] == "get":
                    emit(op="get", path=op["path"], data=(client.get_data(op["path"]).data or b"").decode(), ok=True)
                elif op["op"] == "children":
                    emit(op="children", path=op["path"], children=[n.path for n in client.get_children(op["path"])])
            except Exception as err:
                emit(op=op["op"], path=op.get("path"), ok=False, error=type(err).__name__)
        client.stop()
        emit(op="stopped")


if __name__ == "__main__":
    main()
