"""The entry points the v2 app's functions call (:mod:`faaskeeper_azure.functions.function_app`),
fed exactly the objects the Functions host builds.

A queue-triggered function that returns has its message deleted; one that raises has it delivered
again, and the host moves a message that failed ``MAX_DEQUEUE`` times to ``<queue>-poison``.
Each instance builds the deployment's parts once from ``FK_CONFIG`` (the client config as JSON,
an app setting), read through :func:`faaskeeper.protocol.environment.getenv`, and keeps them for
later invocations, per config, so that one host can serve several deployments.

``watch`` is called by the distributor with a watch delivery as the JSON body and answers the
report (200); a body that is not a valid request is answered 400 with the error, and nothing is
sent.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import datetime

import azure.functions as func

from faaskeeper.api.queue import QueueMessage
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.environment import PerDeployment
from faaskeeper.protocol.settings import FaultHook
from faaskeeper_azure.functions.functions import Functions
from faaskeeper_azure.functions.watch import TIMEOUT, container_watch_function

log = logging.getLogger("faaskeeper.azure.handlers")
if os.environ.get("FUNCTIONS_WORKER_RUNTIME"):
    # On Azure Functions FaaSKeeper's functions log at INFO; imported anywhere else (the emulator's
    # function host, fk cost), the process keeps its level.
    logging.getLogger("faaskeeper").setLevel(logging.INFO)

#: Called at each step of the functions built from now on; tests set it to make a function die
#: (raise :class:`~faaskeeper.protocol.settings.FunctionCrash`) at a step, as an instance can.
faults: FaultHook | None = None

_instances = PerDeployment(lambda config: Functions.open(config, faults))


def functions() -> Functions:
    """This instance's functions for the deployment ``FK_CONFIG`` names (built on first use)."""
    return _instances.get()


def _seconds(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def delivery(message: func.QueueMessage) -> tuple[str, QueueMessage]:
    """The message's text (the host decoded its base64), and its envelope as the core sees it:
    held until it becomes visible again (the host keeps it hidden while the function runs, at
    most the function timeout). MalformedMessage if the body is not text."""
    try:
        text = message.get_body().decode()
    except UnicodeDecodeError as err:
        raise MalformedMessage(f"queue message {message.id} is not text: {err}") from err
    count = getattr(message, "dequeue_count", None)
    visible = _seconds(getattr(message, "time_next_visible", None))
    deadline = min(visible, time.time() + TIMEOUT) if visible is not None else time.time() + TIMEOUT
    envelope = QueueMessage(
        body=b"",
        sequence=0,
        group="",
        message_id=str(message.id or ""),
        receive_count=int(count) if count else 0,
        receipt=str(message.pop_receipt or ""),
        deadline=deadline,
    )
    return text, envelope


def writer(message: func.QueueMessage) -> None:
    instance = functions()
    try:
        text, envelope = delivery(message)
    except MalformedMessage as err:
        instance.ordered.dead_letter(repr(message.get_body()), str(err))
        return
    instance.on_writer(text, envelope)


def distributor(message: func.QueueMessage) -> None:
    instance = functions()
    try:
        text, _ = delivery(message)
    except MalformedMessage as err:
        instance.doorbells.dead_letter(repr(message.get_body()), str(err))
        return
    instance.on_distributor(text)


def heartbeat(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.info("the heartbeat runs late")
    report = functions().on_heartbeat()
    if report.expired:
        log.info("expired sessions: %s", ", ".join(report.expired))


def watch(request: func.HttpRequest) -> func.HttpResponse:
    try:
        try:
            payload = request.get_json()
        except ValueError as err:
            raise MalformedMessage("a watch delivery must be a JSON object: the body is not JSON") from err
        report = container_watch_function.get().handle(payload)
    except MalformedMessage as err:
        log.error("refused a watch delivery: %s", err)
        return func.HttpResponse(json.dumps({"error": str(err)}), status_code=400, mimetype="application/json")
    return func.HttpResponse(json.dumps(report), status_code=200, mimetype="application/json")
