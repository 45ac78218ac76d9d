"""Cloud Functions entry points: ``writer``, ``distributor`` and ``heartbeat`` (CloudEvent
signature), and ``watch`` (HTTP).

Each of the first three is fed by the push subscription of its own topic (the heartbeat's topic
by a schedule). Thin adapters from the CloudEvent to :class:`faaskeeper_gcp.functions.functions.Functions`:
each instance builds the deployment's parts once from ``FK_CONFIG`` (the client config as JSON),
read through :func:`faaskeeper.protocol.environment.getenv`, and keeps them for later
invocations, cached per config so that one local host can serve several deployments. A function
that returns acknowledges the message; one that raises makes functions-framework answer 500, and
Pub/Sub redelivers (after the subscription's ``max_delivery_attempts``, into its dead-letter topic).

``watch`` is called by the distributor with a watch delivery as the JSON body and answers the
report (200); a body that is not a valid request is answered 400 with the error, and nothing is
sent (:mod:`faaskeeper_gcp.functions.watch`).

Every invocation, and the push that delivered it, is counted in :data:`faaskeeper_gcp.cost.metering.METER`.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from typing import TypeVar

import flask
import functions_framework
from cloudevents.http import CloudEvent

from faaskeeper.metering import count_batch
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.environment import PerDeployment
from faaskeeper.protocol.settings import FaultHook
from faaskeeper_gcp.cost.metering import METER, count_delivery
from faaskeeper_gcp.functions.functions import Functions
from faaskeeper_gcp.functions.watch import container_watch_function

log = logging.getLogger("faaskeeper.gcp.handlers")
if os.environ.get("K_SERVICE"):
    # On Cloud Functions (Cloud Run sets K_SERVICE) FaaSKeeper's functions log at INFO. Imported
    # anywhere else (the local function host, fk cost, fk bench), the host process keeps its level.
    logging.getLogger("faaskeeper").setLevel(logging.INFO)

T = TypeVar("T")

#: Called at each step of the functions built from now on; tests set it to make a function die
#: (raise :class:`~faaskeeper.protocol.settings.FunctionCrash`) at a step, as an instance can.
faults: FaultHook | None = None

_instances = PerDeployment(lambda config: Functions.open(config, faults))


def functions() -> Functions:
    """This instance's functions for the deployment ``FK_CONFIG`` names (built on first use)."""
    return _instances.get()


def _metered(name: str, call: Callable[[], T]) -> T:
    started = time.monotonic()
    try:
        return call()
    finally:
        # Cloud Functions bills in 100 ms increments of instance time.
        billed = max(100, -(-int((time.monotonic() - started) * 1000) // 100) * 100)
        for service in ("functions", f"functions:{name}"):
            METER.add(service, "invocations")
            METER.add(service, "ms", billed)


def _pushed(name: str, cloud_event: CloudEvent, call: Callable[[], T]) -> T:
    count_delivery(cloud_event.data)
    count_batch(name, 1)  # a push delivers one message
    return _metered(name, call)


# Registered as CloudEvent functions whatever the platform's signature type: on Cloud Functions
# they have no trigger of their own (an HTTP function), and functions-framework converts the raw
# Pub/Sub pushes it receives into CloudEvents, as it does under the local host.
@functions_framework.cloud_event
def writer(cloud_event: CloudEvent) -> None:
    attempt = delivery_attempt()
    _pushed("writer", cloud_event, lambda: functions().on_writer(cloud_event.data, attempt))


def delivery_attempt() -> int:
    """The ``deliveryAttempt`` of the raw Pub/Sub push being served (a subscription with a
    dead-letter policy carries it beside the message); 0 when it carries none, or the event did
    not come as a raw push (an Eventarc CloudEvent's data has no such field). functions-framework
    keeps only the message when it converts a raw push into a CloudEvent, so it is read from the
    request itself."""
    if not flask.has_request_context():
        return 0
    body = flask.request.get_json(silent=True)
    attempt = body.get("deliveryAttempt") if isinstance(body, dict) else None
    return attempt if isinstance(attempt, int) and not isinstance(attempt, bool) and attempt > 0 else 0


@functions_framework.cloud_event
def distributor(cloud_event: CloudEvent) -> None:
    _pushed("distributor", cloud_event, lambda: functions().on_distributor(cloud_event.data))


@functions_framework.cloud_event
def heartbeat(cloud_event: CloudEvent) -> None:
    report = _pushed("heartbeat", cloud_event, lambda: functions().on_heartbeat())
    if report.expired:
        log.info("expired sessions: %s", ", ".join(report.expired))


@functions_framework.http
def watch(request: flask.Request) -> flask.Response:
    return _metered("watch", lambda: _deliver(request))


def _deliver(request: flask.Request) -> flask.Response:
    payload = request.get_json(force=True, silent=True)
    try:
        if payload is None:
            raise MalformedMessage("a watch delivery must be a JSON object: the body is not JSON")
        report = container_watch_function.get().handle(payload)
    except MalformedMessage as err:
        log.error("refused a watch delivery: %s", err)
        return flask.Response(json.dumps({"error": str(err)}), status=400, mimetype="application/json")
    return flask.Response(json.dumps(report), status=200, mimetype="application/json")
