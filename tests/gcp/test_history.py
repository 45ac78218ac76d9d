"""A short history run on GCP (the emulators, the functions behind real Pub/Sub push delivery):
sessions make random calls while the functions die at random fault points (an instance that dies
answers 500 and Pub/Sub delivers again); the history is checked for ZooKeeper's guarantees."""

from __future__ import annotations

import io
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

import faaskeeper_gcp.handlers as handlers
from faaskeeper.check.checker import check
from faaskeeper.check.history import History
from faaskeeper.check.workload import Recorder, Workload, prepare, snapshot
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper_gcp.function_host import FunctionServer

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


def _session(config: Config, seed: int, out: io.StringIO) -> Callable[[], None]:
    def run() -> None:
        client = FaaSKeeperClient(config, timeout=60)
        client.start()
        workload = Workload(client, Recorder(out), random.Random(seed))
        for _ in range(CALLS):
            workload.step()
        workload.close()

    return run


def test_random_sessions_with_dying_functions_keep_the_guarantees(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer], dying: Counter[str]
) -> None:
    config = deployed(**{"lock-max-hold": 1})
    serve(config, schedule=False)
    outputs = [io.StringIO() for _ in range(SESSIONS)]
    with FaaSKeeperClient(config, timeout=60) as host:
        prepare(host)
        threads = [threading.Thread(target=_session(config, i, out)) for i, out in enumerate(outputs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        assert not any(t.is_alive() for t in threads), "a session did not finish its calls"
        history = History.from_lines(line for out in outputs for line in out.getvalue().splitlines())
        history.final = snapshot(host)
    report = check(history)
    print(f"GCP history: {report.operations} operations, {report.sessions} sessions, deaths {dict(dying)}")
    assert report.operations >= SESSIONS * CALLS, "every session made its calls (a burst makes several)"
    assert sum(dying.values()) > 0, "no function died: the run tested nothing under faults"
    assert report.violations == [], report.violations[:5]
