"""A short history run on AWS (moto, the real handlers in the Lambda emulator): sessions make
random calls while the writer and distributor invocations fail at random, before their work (the
batch shows again after its visibility timeout) or after it (the whole batch is delivered twice);
the history is checked for ZooKeeper's guarantees."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import replace
from typing import Any

from faaskeeper.check.checker import check
from faaskeeper.check.faults import InjectedFault
from faaskeeper.check.workload import record_sessions
from faaskeeper_aws.functions.deployed import local_functions
from faaskeeper_aws.functions.host import Handler
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


def test_random_sessions_with_failing_invocations_keep_the_guarantees(moto_server: MotoServer) -> None:
    config = stackless.config()
    stackless.create(config, visibility_timeout=3, max_receives=10)
    emulator = local_functions(config, AwsSettings.from_config(config))
    rng, guard, counts = random.Random(8), threading.Lock(), Counter[str]()
    emulator.queues = [replace(t, handler=_flaky(t.handler, rng, guard, counts)) for t in emulator.queues]
    with emulator:
        history = record_sessions(config, SESSIONS, CALLS, timeout=30)
    report = check(history)
    print(f"AWS history: {report.operations} operations, {report.sessions} sessions, failed invocations {dict(counts)}")
    assert report.operations >= SESSIONS * CALLS, "every session made its calls (a burst makes several)"
    assert sum(counts.values()) > 0, "no invocation failed: the run tested nothing under faults"
    assert report.violations == [], report.violations[:5]
