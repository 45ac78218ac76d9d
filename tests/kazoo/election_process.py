"""One contender of a leader election: kazoo's Election recipe on faaskeeper.kazoo.

``python election_process.py CONFIG_FILE NAME`` prints ``{"ready": NAME}`` once connected, then
``{"leader": NAME, "at": <time.time()>}`` once it leads, and then leads until it is killed."""

from __future__ import annotations

import json
import sys
import threading
import time

from faaskeeper.kazoo import KazooClient


def main() -> None:
    config_file, name = sys.argv[1], sys.argv[2]
    zk = KazooClient(config_file)
    zk.start()
    print(json.dumps({"ready": name}), flush=True)

    def lead() -> None:
        print(json.dumps({"leader": name, "at": time.time()}), flush=True)
        threading.Event().wait()

    zk.Election("/election", name).run(lead)


if __name__ == "__main__":
    main()
