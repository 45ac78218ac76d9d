"""A short history run on AWS (moto, the real handlers in the Lambda emulator): sessions make
random calls while the writer and distributor invocations fail at random, before their work (the
batch shows again after its visibility timeout) or after it (the whole batch is delivered twice);
the history is checked for ZooKeeper's guarantees."""

from __future__ import annotations

import io
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from faaskeeper.check.checker import check
from faaskeeper.check.faults import InjectedFault
from faaskeeper.check.history import History
from faaskeeper.check.workload import Recorder, Workload, prepare, snapshot
from faaskeeper.client import FaaSKeeperClient
from faaskeeper_aws.lambda_host import Handler
from faaskeeper_aws.lambda_stack import local_functions
from faaskeeper_aws.settings import AwsSettings

from . import stackless
from .moto import MotoServer

SESSIONS = 3
CALLS = 25
FAILURE = 0.04


def _flaky(handler: Handler, rng: random.Random, guard: threading.Lock, counts: Counter[str]) -> Handler:
    def run(event: dict[str, Any], context: Any) -> Any:
        with guard:
            draw = rng.random()
        if draw < FAILURE:
            counts["before"] += 1
            raise InjectedFault("the invocation failed before its work")
        result = handler(event, context)
        if draw < 2 * FAILURE:
            counts["after"] += 1
            raise InjectedFault("the invocation failed after its work, before its batch was deleted")
        return result

    return run


def _session(config: Any, seed: int, out: io.StringIO) -> Callable[[], None]:
    def run() -> None:
        client = FaaSKeeperClient(config, timeout=30)
        client.start()
        workload = Workload(client, Recorder(out), random.Random(seed))
        for _ in range(CALLS):
            workload.step()
        workload.close()

    return run


def test_random_sessions_with_failing_invocations_keep_the_guarantees(moto_server: MotoServer) -> None:
    config = stackless.config()
    stackless.create(config, visibility_timeout=3, max_receives=10)
    emulator = local_functions(config, AwsSettings.from_config(config))
    rng, guard, counts = random.Random(8), threading.Lock(), Counter[str]()
    emulator.queues = [replace(t, handler=_flaky(t.handler, rng, guard, counts)) for t in emulator.queues]
    outputs = [io.StringIO() for _ in range(SESSIONS)]
    with emulator, FaaSKeeperClient(config, timeout=30) as host:
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
    print(f"AWS history: {report.operations} operations, {report.sessions} sessions, failed invocations {dict(counts)}")
    assert report.operations >= SESSIONS * CALLS, "every session made its calls (a burst makes several)"
    assert sum(counts.values()) > 0, "no invocation failed: the run tested nothing under faults"
    assert report.violations == [], report.violations[:5]
