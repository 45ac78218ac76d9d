"""Run a deployment's functions on an emulated AWS: ``python -m faaskeeper_aws.emulator CONFIG``.

moto stores the stack's functions, event source mappings and heartbeat schedule but cannot run
them. This command does what Lambda and EventBridge would: it takes over the deployment's event
source mappings and feeds the real handlers Lambda-shaped events until it is told to stop (Ctrl-C,
SIGTERM, or SIGHUP when its terminal closes) or the deployment is removed, then hands the mappings
back. Mappings a killed emulator could not hand back (SIGKILL) are taken over by the next one, and
``fk deploy service`` enables them again. It refuses to run against real AWS.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from types import FrameType

from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper_aws.functions.deployed import deployed_functions
from faaskeeper_aws.settings import AwsSettings

#: The signals that stop the emulator: Ctrl-C, kill, and the terminal closing.
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faaskeeper_aws.emulator",
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
    with _stop_signals() as stop:
        try:
            config = Config.from_file(args.config)
            emulator = deployed_functions(AwsSettings.from_config(config), heartbeat_interval=args.heartbeat_interval)
            emulator.start()
        except FaaSKeeperException as err:
            _say(f"error: {err}", error=True)
            return 1
        name = config.deployment_name
        try:
            _say(f"running the functions of deployment {name!r}; Ctrl-C stops")
            threading.Thread(target=_relay, args=(emulator.removed, stop), daemon=True).start()
            stop.wait()
        finally:
            emulator.stop()
    if emulator.removed.is_set():
        _say(f"deployment {name!r} was removed; stopped")
    else:
        _say("stopped; the event source mappings are handed back")
    return 0


def _relay(removed: threading.Event, stop: threading.Event) -> None:
    removed.wait()
    stop.set()


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """An event that any of :data:`STOP_SIGNALS` sets, for the length of the block. A signal never
    interrupts what runs meanwhile, so a second one cannot cut handing the mappings back short."""
    stop = threading.Event()

    def caught(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, caught) for sig in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _say(line: str, *, error: bool = False) -> None:
    """Print ``line``; a terminal that closed (SIGHUP) must not stop the mappings from being handed back."""
    with suppress(OSError):
        print(line, file=sys.stderr if error else sys.stdout, flush=True)


if __name__ == "__main__":
    sys.exit(main())
