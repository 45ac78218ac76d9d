"""``python -m faaskeeper_azure.emulator CONFIG``: a deployed config's functions served on this
machine from the v2 app (:class:`~faaskeeper_azure.functions.host.FunctionHost`): its Storage
Queues polled, its heartbeat timer run, its HTTP functions at ``azure.functions-endpoint``, until
interrupted or until the deployment is removed.

The emulators themselves run with ``python -m faaskeeper_azure.emulator.servers``
(:mod:`faaskeeper_azure.emulator.servers`).
"""

from __future__ import annotations

import argparse
import logging
import sys

from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper_azure.functions.host import FunctionHost

log = logging.getLogger("faaskeeper.azure.host")


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted (0); 1, with one line, if the functions cannot be served."""
    parser = argparse.ArgumentParser(
        prog="python -m faaskeeper_azure.emulator",
        description="Serve an Azure deployment's functions from the v2 app on the emulators.",
    )
    parser.add_argument("config", help="the client config that fk deploy wrote")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # The Azure SDK logs each request with its headers at INFO: the host's polls would drown the
    # functions' own lines.
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        host = FunctionHost(Config.from_file(args.config))
        host.start()
    except FaaSKeeperException as err:
        print(f"faaskeeper_azure.emulator: error: {err}", file=sys.stderr)
        return 1
    log.info("serving the functions of %s; Ctrl-C stops", host.config.deployment_name)
    try:
        host.gone.wait()
        print(f"faaskeeper_azure.emulator: the deployment {host.config.deployment_name} was removed", file=sys.stderr)
    except KeyboardInterrupt:
        pass
    finally:
        host.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
