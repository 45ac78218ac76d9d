"""The deployment's functions in the Azure Functions Python v2 programming model.

The Functions host imports ``function_app.py`` at the root of the app's package: there, one line
(``from faaskeeper_azure.functions.function_app import app``) re-exports :data:`app` from here,
which lives under the ``functions`` role like every provider's functions. The triggers name their queues,
schedule and storage connection through app settings (``%FK_WRITER_QUEUE%``), which
:func:`app_settings` gives for a deployment: the function host of the emulators
(:mod:`faaskeeper_azure.functions.host`) resolves them as the Functions host does.

Each function is a thin adapter to :mod:`faaskeeper_azure.functions.handlers`, which is fed exactly
the objects the host builds (``func.QueueMessage``, ``func.TimerRequest``, ``func.HttpRequest``).
"""

from __future__ import annotations

import json

import azure.functions as func

from faaskeeper.config import Config
from faaskeeper.protocol.environment import ENV_CONFIG
from faaskeeper_azure.functions import handlers
from faaskeeper_azure.functions.watch import WATCH_ROUTE
from faaskeeper_azure.settings import AzureSettings

#: The app settings the triggers name.
ENV_WRITER_QUEUE = "FK_WRITER_QUEUE"
ENV_DISTRIBUTOR_QUEUE = "FK_DISTRIBUTOR_QUEUE"
ENV_HEARTBEAT_SCHEDULE = "FK_HEARTBEAT_SCHEDULE"
#: The connection of the queue triggers: the app setting holding the storage account's
#: connection string (or, with an identity, ``FK_STORAGE__queueServiceUri``).
STORAGE_CONNECTION = "FK_STORAGE"

app = func.FunctionApp()


@app.function_name("writer")
@app.queue_trigger(arg_name="message", queue_name=f"%{ENV_WRITER_QUEUE}%", connection=STORAGE_CONNECTION)
def writer(message: func.QueueMessage) -> None:
    handlers.writer(message)


@app.function_name("distributor")
@app.queue_trigger(arg_name="message", queue_name=f"%{ENV_DISTRIBUTOR_QUEUE}%", connection=STORAGE_CONNECTION)
def distributor(message: func.QueueMessage) -> None:
    handlers.distributor(message)


@app.function_name("heartbeat")
@app.timer_trigger(arg_name="timer", schedule=f"%{ENV_HEARTBEAT_SCHEDULE}%", run_on_startup=False, use_monitor=False)
def heartbeat(timer: func.TimerRequest) -> None:
    handlers.heartbeat(timer)


@app.function_name("watch")
@app.route(
    route=WATCH_ROUTE, trigger_arg_name="request", methods=[func.HttpMethod.POST], auth_level=func.AuthLevel.FUNCTION
)
def watch(request: func.HttpRequest) -> func.HttpResponse:
    return handlers.watch(request)


def heartbeat_schedule(seconds: float) -> str:
    """The NCRONTAB schedule (with seconds) of a heartbeat every ``seconds`` (whole seconds below a
    minute, whole minutes above)."""
    whole = max(1, round(seconds))
    if whole < 60:
        return f"*/{whole} * * * * *"
    return f"0 */{max(1, min(59, whole // 60))} * * * *"


def app_settings(config: Config) -> dict[str, str]:
    """The app settings the functions of ``config``'s deployment run with."""
    settings = AzureSettings.from_config(config)
    names = settings.names
    values = {
        ENV_CONFIG: json.dumps(config.serialize()),
        ENV_WRITER_QUEUE: names.queue("writer"),
        ENV_DISTRIBUTOR_QUEUE: names.queue("distributor"),
        ENV_HEARTBEAT_SCHEDULE: heartbeat_schedule(config.heartbeat_interval),
    }
    if settings.storage_connection_string is not None:
        values[STORAGE_CONNECTION] = settings.storage_connection_string
    return values
