"""Lambda entry points: ``faaskeeper_aws.functions.handlers.writer`` / ``.distributor`` / ``.heartbeat`` / ``.watch``.

Thin adapters from Lambda's events to the core. Each container builds the deployment's parts
once from ``FK_CONFIG`` (the client config as JSON), read through
:func:`faaskeeper.protocol.environment.getenv`, and keeps them for later invocations; they are
cached per config, so the local emulator can run functions of several deployments in one process.

* ``writer`` / ``distributor``: SQS FIFO batches (event source mappings with
  ``FunctionResponseTypes: ["ReportBatchItemFailures"]``); they return
  ``{"batchItemFailures": [...]}`` (see :func:`faaskeeper_aws.functions.functions.process_batch`).
* ``heartbeat``: an EventBridge schedule; pings every session, expires the silent ones, and
  deletes the client queues of sessions that ended a session timeout ago.
* ``watch``: invoked by the distributor (RequestResponse) with a watch delivery as its event;
  returns the delivery's report (:mod:`faaskeeper_aws.functions.watch`). A malformed event raises,
  and Lambda answers the caller with the error; nothing is sent.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from faaskeeper.protocol.environment import PerDeployment
from faaskeeper_aws.functions.events import Event
from faaskeeper_aws.functions.functions import Functions, invocation_deadline, process_batch
from faaskeeper_aws.functions.watch import container_watch_function

log = logging.getLogger("faaskeeper.aws.handlers")
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    # Lambda's Python runtime configures the root logger at WARNING; FaaSKeeper's functions log at
    # INFO there. Imported anywhere else (the emulator, fk cost), the host process keeps its level.
    logging.getLogger("faaskeeper").setLevel(logging.INFO)

_containers = PerDeployment(Functions.open)


def functions() -> Functions:
    """This container's functions for the deployment ``FK_CONFIG`` names (built on first use)."""
    return _containers.get()


def writer(event: Event, context: Any) -> Event:
    parts = functions()
    return process_batch(event, parts.writer_queue, parts.writer.handle, deadline=invocation_deadline(context))


def distributor(event: Event, context: Any) -> Event:
    parts = functions()
    return process_batch(
        event, parts.distributor_queue, parts.distributor.handle, deadline=invocation_deadline(context)
    )


def heartbeat(event: Event, context: Any) -> Event:
    report = functions().on_heartbeat(deadline=invocation_deadline(context))
    if report.expired:
        log.info("expired sessions: %s", ", ".join(report.expired))
    return {"alive": len(report.alive), "silent": report.silent, "expired": report.expired}


def watch(event: Event, context: Any) -> Event:
    return container_watch_function.get().handle(event)
