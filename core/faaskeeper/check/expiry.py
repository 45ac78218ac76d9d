"""How long a killed client's ephemeral node outlives it: ``python -m faaskeeper.check.expiry``.

Deploys a throwaway local deployment, then ``--kills`` times starts a client process that creates
an ephemeral node, kills it (SIGKILL) at a varying point of the heartbeat's period, and measures,
from this process's own client (which keeps the deployment in use), how long the node lasts.
Prints each time and how the slowest compares with the session timeout.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider

_OWNER = """
import json, sys, time
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
client = FaaSKeeperClient(Config.deserialize(json.loads(sys.argv[1])), timeout=30)
client.start()
client.create(sys.argv[2], b"", ephemeral=True)
print("ready", flush=True)
time.sleep(3600)
"""


def measure(config: Config, kills: int) -> list[float]:
    """Seconds from each kill until its ephemeral node was gone."""
    lasted = []
    with FaaSKeeperClient(config, timeout=30) as observer:
        period = config.heartbeat_interval
        for kill in range(kills):
            path = f"/owned-by-killed-{kill}"
            owner = subprocess.Popen(
                [sys.executable, "-c", _OWNER, json.dumps(config.serialize()), path], stdout=subprocess.PIPE
            )
            assert owner.stdout is not None
            if owner.stdout.readline().strip() != b"ready":
                owner.kill()
                raise RuntimeError("the client process did not start")
            time.sleep(0.3 + period * (kill % 5) / 5)
            killed = time.monotonic()
            owner.kill()
            owner.wait()
            while observer.exists(path) is not None:
                time.sleep(0.01)
            lasted.append(time.monotonic() - killed)
            print(f"kill {kill + 1}: the ephemeral node went {lasted[-1]:.2f} s after the kill", flush=True)
    return lasted


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faaskeeper.check.expiry", description=__doc__)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--session-timeout", type=float, default=3.0)
    parser.add_argument("--heartbeat-frequency", type=float, default=5.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fk-expiry-") as scratch:
        raw = {
            "cloud-provider": "local",
            "deployment-name": "expiry",
            "heartbeat-frequency": args.heartbeat_frequency,
            "session-timeout": args.session_timeout,
            "local": {"path": scratch},
        }
        provider = get_provider("local")
        config = provider.deploy(Config.deserialize(raw))
        try:
            lasted = measure(config, args.kills)
        finally:
            provider.remove(config)
    slowest = max(lasted)
    print(
        f"{len(lasted)} kills, session timeout {args.session_timeout:g} s, heartbeat every "
        f"{config.heartbeat_interval:g} s: gone after {min(lasted):.2f} to {slowest:.2f} s "
        f"(at most {slowest / args.session_timeout:.2f}x the session timeout)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
