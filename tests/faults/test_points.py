"""Every fault point in the functions' code is exercised by the fault-point suite."""

from __future__ import annotations

import re
from pathlib import Path

import faaskeeper.protocol
from faaskeeper.testing.fault_points import FAULT_POINTS

PROTOCOL = Path(faaskeeper.protocol.__file__).parent


def test_the_suite_knows_every_fault_point_in_the_code() -> None:
    in_code = set()
    for module in PROTOCOL.glob("*.py"):
        in_code.update(re.findall(r"""\.fault\(\s*["']([^"']+)["']\s*\)""", module.read_text()))
    assert in_code, "no fault points found: the pattern no longer matches the code"
    assert in_code == set(FAULT_POINTS)
    assert len(FAULT_POINTS) == len(set(FAULT_POINTS))
