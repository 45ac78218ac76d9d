"""Faults the soak injects into the functions."""

from __future__ import annotations

import random
import threading

from faaskeeper.protocol.settings import FaultHook


class InjectedFault(Exception):
    """A function failed at a fault point; the platform redelivers its message."""


def fail_at_random(probability: float, rng: random.Random, points: frozenset[str] | None = None) -> FaultHook:
    """A fault hook failing (InjectedFault) with ``probability`` at each of ``points`` (every
    point if None), as a function that errors or times out there would."""
    guard = threading.Lock()

    def hook(point: str) -> None:
        if points is not None and point not in points:
            return
        with guard:
            hit = rng.random() < probability
        if hit:
            raise InjectedFault(point)

    return hook
