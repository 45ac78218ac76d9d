"""A client process of the soak: ``python -m faaskeeper.check.worker CONFIG_JSON OUT OPTIONS_JSON``.

Runs ``calls`` random calls on ``nodes`` nodes in one session, recording them to ``OUT``, then
closes the session (with probability ``close_writing`` while another thread writes). Where the
config's provider hosts functions in client processes (the local one), the functions this
process hosts fail at each fault point with probability ``faults`` and kill the whole process
(exit 137, like kill -9) with probability ``kills``. A failing function, in ``mode`` "timeout",
hangs until its message's visibility timeout (``visibility_timeout``, the deployment's) passed
and then fails, as a function that times out on a cloud does (its message shows again only
after the visibility timeout); in "error" it fails at once, and the local host offers the
message again within milliseconds. ``FK_CHECK_BROKEN=skip-lock`` runs a deliberately broken
writer.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable

from faaskeeper.check import broken
from faaskeeper.check.faults import InjectedFault, fail_at_random
from faaskeeper.check.workload import Recorder, Workload
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.settings import FaultHook

KILLED = 137
FAULT_RECORD = {"type": "faults", "count": 1}


MODES = ("timeout", "error")


def faults(
    rng: random.Random, fail: float, kill: float, mode: str, hang: float, report: Callable[[], None]
) -> FaultHook:
    """The fault hook of this process's functions; ``report()`` is called before each fault."""
    failing = fail_at_random(fail, rng)

    def hook(point: str) -> None:
        if rng.random() < kill:
            report()
            os._exit(KILLED)
        try:
            failing(point)
        except InjectedFault:
            report()
            if mode == "timeout":
                time.sleep(hang)
            raise

    return hook


def main(argv: list[str]) -> int:
    config = Config.deserialize(json.loads(argv[1]))
    out, options = argv[2], json.loads(argv[3])
    mode = options["mode"]
    if mode not in MODES:
        raise SystemExit(f"fault mode {mode!r}: expected one of {', '.join(MODES)}")
    writer_storage = broken.writer_storage(os.environ.get(broken.SWITCH, ""))
    with open(out, "a") as stream:
        recorder = Recorder(stream)
        hang = options["visibility_timeout"] * 1.2
        rng = random.Random(options["seed"] + 1)
        hook = faults(rng, options["faults"], options["kills"], mode, hang, lambda: recorder.write_line(FAULT_RECORD))
        get_provider(config.cloud_provider).inject_faults(hook, writer_storage)
        client = FaaSKeeperClient(config, timeout=options["client_timeout"])
        client.start()
        workload = Workload(
            client, recorder, random.Random(options["seed"]), options["nodes"], options["client_timeout"]
        )
        for _ in range(options["calls"]):
            if workload.expired:
                break
            workload.step()
        workload.close(writing=random.Random(options["seed"] + 2).random() < options["close_writing"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
