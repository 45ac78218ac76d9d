"""A short history run on GCP (the emulators, the functions behind real Pub/Sub push delivery):
sessions make random calls while the functions die at random fault points (an instance that dies
answers 500 and Pub/Sub delivers again); the history is checked for ZooKeeper's guarantees."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

import faaskeeper_gcp.functions.handlers as handlers
from faaskeeper.check.checker import check
from faaskeeper.check.workload import record_sessions
from faaskeeper.config import Config
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper_gcp.functions.host import FunctionServer

SESSIONS = 3
CALLS = 20
#: Chance that a function dies at each fault point it passes.
FAILURE = 0.03


@pytest.fixture
def dying() -> Iterator[Counter[str]]:
    """Functions that die at random fault points; the points where they died."""
    rng, guard, died = random.Random(8), threading.Lock(), Counter[str]()

    def hook(point: str) -> None:
        with guard:
            draw = rng.random()
            if draw < FAILURE:
                died[point] += 1
        if draw < FAILURE:
            raise FunctionCrash(point)

    handlers.faults = hook
    yield died
    handlers.faults = None


def test_random_sessions_with_dying_functions_keep_the_guarantees(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer], dying: Counter[str]
) -> None:
    config = deployed(**{"lock-max-hold": 1})
    serve(config, schedule=False)
    history = record_sessions(config, SESSIONS, CALLS)
    report = check(history)
    print(f"GCP history: {report.operations} operations, {report.sessions} sessions, deaths {dict(dying)}")
    assert report.operations >= SESSIONS * CALLS, "every session made its calls (a burst makes several)"
    assert sum(dying.values()) > 0, "no function died: the run tested nothing under faults"
    assert report.violations == [], report.violations[:5]
