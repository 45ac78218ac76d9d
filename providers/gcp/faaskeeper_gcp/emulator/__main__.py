"""``python -m faaskeeper_gcp.emulator CONFIG``: a deployed config's functions served on this machine
by functions-framework (:class:`~faaskeeper_gcp.functions.host.FunctionServer`), where the emulated
Pub/Sub pushes them, until interrupted or until the deployment is removed (then with one line).

The emulators themselves run with ``python -m faaskeeper_gcp.emulator.servers``
(:mod:`faaskeeper_gcp.emulator.servers`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper_gcp.functions.host import FunctionServer

log = logging.getLogger("faaskeeper.gcp.functions")


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted (0) or until the deployment is removed (0); 1, with one line, if it
    cannot be served (no deployment, the endpoint in use, no credentials)."""
    parser = argparse.ArgumentParser(
        prog="python -m faaskeeper_gcp.emulator",
        description="Serve a GCP deployment's functions with functions-framework.",
    )
    parser.add_argument("config", help="the client config that fk deploy wrote")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        server = FunctionServer(Config.from_file(args.config))
        server.check_deployed()
        server.start()
    except FaaSKeeperException as err:
        print(f"faaskeeper_gcp.emulator: error: {err}", file=sys.stderr)
        return 1
    log.info("serving the functions at %s; Ctrl-C stops", server.endpoint)
    try:
        server.removed.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
