"""Run a deployment's functions on an emulated AWS: ``python -m faaskeeper_aws.emulate CONFIG``.

moto stores the stack's functions, event source mappings and heartbeat schedule but cannot run
them. This command does what Lambda and EventBridge would: it takes over the deployment's event
source mappings and feeds the real handlers Lambda-shaped events until interrupted (Ctrl-C or
SIGTERM), then hands the mappings back. It refuses to run against real AWS.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType

from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper_aws.lambda_stack import deployed_functions
from faaskeeper_aws.settings import AwsSettings


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faaskeeper_aws.emulate",
        description="Run an AWS deployment's functions against an emulated AWS (moto) until interrupted.",
    )
    parser.add_argument("config", help="the client config of the deployment (as fk deploy writes it)")
    parser.add_argument(
        "--heartbeat-interval",
        type=float,
        default=None,
        help="seconds between heartbeat runs (default: the config's heartbeat-frequency)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every invocation")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(asctime)s %(name)s: %(message)s"
    )
    try:
        config = Config.from_file(args.config)
        emulator = deployed_functions(AwsSettings.from_config(config), heartbeat_interval=args.heartbeat_interval)
        with emulator:
            _wait_for_a_signal(f"running the functions of deployment {config.deployment_name!r}; Ctrl-C stops")
    except FaaSKeeperException as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print("stopped; the event source mappings are handed back", flush=True)
    return 0


def _wait_for_a_signal(ready: str) -> None:
    """Print ``ready`` once SIGINT and SIGTERM are caught, block until one comes, then put their
    handlers back as they were."""
    stop = threading.Event()

    def interrupted(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(ready, flush=True)
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
