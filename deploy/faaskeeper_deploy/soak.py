"""``fk soak``: random client calls from several processes on fresh local deployments, with the
functions failing and processes dying at random fault points; every history is checked for
ZooKeeper's guarantees (see :mod:`faaskeeper.check.soak`)."""

from __future__ import annotations

import argparse
from typing import Any

from faaskeeper.check import soak


def register(commands: Any) -> None:
    """Add ``fk soak`` to the subcommands of ``fk``."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "soak",
        help="run client processes with faults on and check their histories",
        description=__doc__,
    )
    soak.add_arguments(parser)
    parser.set_defaults(func=soak.run)
