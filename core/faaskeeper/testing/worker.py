"""A client session in a process of its own, driven line by line (JSON) over stdin and stdout.

``python -m faaskeeper.testing.worker CONFIG_JSON TIMEOUT`` starts a session, prints
``{"ok": true, "session": ID}``, then answers each command line, e.g.
``{"op": "create", "path": "/a", "data": "6869", "ephemeral": false}`` (data in hex), with one line.
``{"op": "stop"}`` closes the session and exits.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException


def _run(client: FaaSKeeperClient, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    path = command.get("path", "/")
    data = bytes.fromhex(command.get("data", ""))
    if op == "create":
        node = client.create(path, data, bool(command.get("ephemeral")), bool(command.get("sequential")))
        return {"path": node.path, "version": node.stat.version}
    if op == "set_data":
        return {"version": client.set_data(path, data, int(command.get("version", -1))).stat.version}
    if op == "get_data":
        node = client.get_data(path)
        return {"data": (node.data or b"").hex(), "version": node.stat.version}
    if op == "delete":
        client.delete(path)
        return {}
    if op == "stop":
        client.stop()
        return {}
    raise ValueError(f"unknown command {op!r}")


def main(argv: list[str]) -> int:
    config = Config.deserialize(json.loads(argv[1]))
    client = FaaSKeeperClient(config, timeout=float(argv[2]))
    client.start()
    print(json.dumps({"ok": True, "session": client.session_id}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        try:
            answer = {"ok": True, **_run(client, command)}
        except FaaSKeeperException as err:
            answer = {"ok": False, "error": err.code, "message": str(err)}
        print(json.dumps(answer), flush=True)
        if command["op"] == "stop":
            return 0
    client.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
