"""Serving a deployment's functions with functions-framework on this machine, as Cloud Functions would.

Against the emulators, Pub/Sub push subscriptions deliver to ``gcp.functions-endpoint``:
``<endpoint>/writer``, ``/distributor`` and ``/heartbeat``, and the distributor calls the watch
function at ``<endpoint>/watch``. :class:`FunctionServer` listens there with one
functions-framework app per function (built by ``functions_framework.create_app`` from
:mod:`faaskeeper_gcp.main`, CloudEvent signature for the pushed ones, so pushes are converted
exactly as functions-framework converts them on Cloud Run, HTTP for the watch function), each
request run with the deployment's
``FK_CONFIG`` through :func:`faaskeeper.protocol.environment.function_environment`, so functions of
several deployments are served side by side. Each push comes with its ``deliveryAttempt``, as
Pub/Sub numbers the pushes of a subscription with a dead-letter policy and the emulator does not
(:class:`DeliveryAttempts`). As Cloud Scheduler would, it publishes a tick to
the heartbeat topic every ``heartbeat-frequency`` seconds; Pub/Sub pushes it to the heartbeat.

A tick that cannot be published makes the host look for the deployment, and one that stays gone
for REMOVED_AFTER seconds (longer than ``fk deploy service --clean`` leaves it gone) ends the
schedule (:attr:`FunctionServer.removed`); ``python -m faaskeeper_gcp.emulator CONFIG``
(:mod:`faaskeeper_gcp.emulator`) then stops.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.parse
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import functions_framework
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from faaskeeper.api.provider import FunctionHost
from faaskeeper.config import Config
from faaskeeper.exceptions import (
    ConfigurationException,
    DeploymentNotFoundException,
    ProviderException,
)
from faaskeeper.protocol.environment import function_environment
from faaskeeper.protocol.host import ScheduledFunction
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper_gcp.names import ENV_CONFIG, FIRESTORE_EMULATOR, FUNCTIONS, PUSHED_FUNCTIONS
from faaskeeper_gcp.queues import Topics
from faaskeeper_gcp.settings import GcpSettings, check_emulator
from faaskeeper_gcp.storage.firestore import Documents

log = logging.getLogger("faaskeeper.gcp.functions")

#: The Cloud Functions source file, at the package root.
SOURCE = Path(__file__).parent.parent / "main.py"
#: Seconds the deployment must stay gone before the host takes it for removed (a redeploy with
#: ``--clean`` leaves it gone for about a second).
REMOVED_AFTER = 10.0

WsgiApp = Any


class _Activity:
    """The invocations in progress, and when the last one began or ended."""

    def __init__(self) -> None:
        self._running = 0
        self._changed = time.monotonic()
        self._condition = threading.Condition()

    @contextmanager
    def invocation(self) -> Iterator[None]:
        with self._condition:
            self._running += 1
            self._changed = time.monotonic()
        try:
            yield
        finally:
            with self._condition:
                self._running -= 1
                self._changed = time.monotonic()
                self._condition.notify_all()

    def wait_idle(self, timeout: float, quiet: float) -> bool:
        """True once no invocation has run for ``quiet`` seconds; False after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                now = time.monotonic()
                if self._running == 0 and now - self._changed >= quiet:
                    return True
                if now >= deadline:
                    return False
                wait = deadline - now if self._running else min(deadline - now, self._changed + quiet - now)
                self._condition.wait(max(0.001, wait))


class _WithEnvironment:
    """A WSGI app run with a function's configured environment."""

    def __init__(self, app: WsgiApp, variables: dict[str, str], activity: _Activity) -> None:
        self._app = app
        self._variables = variables
        self._activity = activity

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # Mounted at /<function>, the function's own app sees the rest of the path, which is empty.
        environ["PATH_INFO"] = environ.get("PATH_INFO") or "/"
        try:
            with self._activity.invocation(), function_environment(self._variables):
                return list(self._app(environ, start_response))
        except FunctionCrash as crash:
            # An instance that dies mid-request: the platform answers 500 and Pub/Sub redelivers.
            log.warning("function instance died at %s", crash)
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
            return [b"the function instance died\n"]


class DeliveryAttempts:
    """Numbers the pushes of each message, as Pub/Sub does for a subscription with a dead-letter
    policy (the emulator leaves ``deliveryAttempt`` out of its push requests): a raw push without
    one gets the number of times this host has been handed the message, this one included.

    Only for messages published since the host last began to listen (``since``, ``time.time()``
    seconds; :meth:`listening`) and not forgotten since: an older one may have been pushed to
    another host, so it is left unnumbered, which the writer takes for "unknown". At most ``keep``
    messages are remembered; forgetting one moves that horizon past its publish time."""

    def __init__(self, since: float, keep: int = 100_000) -> None:
        self._horizon = since
        self._keep = keep
        self._seen: OrderedDict[tuple[str, str], tuple[float, int]] = OrderedDict()
        self._guard = threading.Lock()

    def listening(self, since: float) -> None:
        """The host holds its address from ``since`` on: what was published before may have been
        pushed to whatever listened there until then."""
        with self._guard:
            self._horizon = max(self._horizon, since)

    def number(self, body: Any) -> None:
        """Add ``deliveryAttempt`` to a raw push's JSON ``body`` (in place) where it can be told."""
        if not isinstance(body, dict) or "deliveryAttempt" in body:
            return
        message = body.get("message")
        if not isinstance(message, dict):
            return
        key = (str(body.get("subscription", "")), str(message.get("messageId", "")))
        try:
            published = datetime.fromisoformat(str(message["publishTime"]).replace("Z", "+00:00")).timestamp()
        except (KeyError, ValueError):
            return
        with self._guard:
            if published < self._horizon:
                return
            attempts = self._seen.pop(key, (published, 0))[1] + 1
            self._seen[key] = (published, attempts)
            while len(self._seen) > self._keep:
                _, (forgotten, _) = self._seen.popitem(last=False)
                self._horizon = max(self._horizon, forgotten + 0.001)
        body["deliveryAttempt"] = attempts


class _NumberedPushes:
    """A pushed function's WSGI app, handed each raw push with its delivery attempt (see
    :class:`DeliveryAttempts`)."""

    def __init__(self, app: WsgiApp, attempts: DeliveryAttempts) -> None:
        self._app = app
        self._attempts = attempts

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if isinstance(body, dict) and "message" in body and "subscription" in body:
            self._attempts.number(body)
            raw = json.dumps(body).encode()
        environ["wsgi.input"] = io.BytesIO(raw)
        environ["CONTENT_LENGTH"] = str(len(raw))
        served: Iterable[bytes] = self._app(environ, start_response)
        return served


class _QuietHandler(WSGIRequestHandler):
    """No access log line per delivery; failures are logged by the functions themselves."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _not_found(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"no such function\n"]


def endpoint_address(endpoint: str) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.hostname is None or parsed.port is None:
        raise ConfigurationException(f"Config key 'gcp.functions-endpoint' needs a host and a port, got {endpoint!r}")
    return parsed.hostname, parsed.port


def endpoint_in_use(endpoint: str) -> bool:
    """Whether something already listens at ``endpoint`` (another function host)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(endpoint_address(endpoint))
        except OSError:
            return True
    return False


class FunctionServer(FunctionHost):
    """The functions of the deployment ``config`` names, at its ``gcp.functions-endpoint``."""

    def __init__(self, config: Config, *, schedule: bool = True) -> None:
        self._settings = GcpSettings.from_config(config)
        if self._settings.functions_endpoint is None:
            raise ConfigurationException("Config key 'gcp.functions-endpoint' is required to serve the functions here")
        self._host, self._port = endpoint_address(self._settings.functions_endpoint)
        variables = {ENV_CONFIG: json.dumps(config.serialize())}
        self._activity = _Activity()
        self.attempts = DeliveryAttempts(time.time())
        apps: dict[str, Any] = {}
        for name in FUNCTIONS:
            pushed = name in PUSHED_FUNCTIONS
            app = functions_framework.create_app(  # type: ignore[no-untyped-call]
                target=name, source=str(SOURCE), signature_type="cloudevent" if pushed else "http"
            )
            served = _WithEnvironment(app, variables, self._activity)
            apps[f"/{name}"] = _NumberedPushes(served, self.attempts) if pushed else served
        self._app = DispatcherMiddleware(_not_found, apps)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._ticks = (
            ScheduledFunction(config.heartbeat_interval, self.tick, f"faaskeeper-{config.deployment_name}-schedule")
            if schedule
            else None
        )
        self._topics = Topics(self._settings)
        self._deployment = config.deployment_name
        #: Set once the deployment was found removed (the schedule has stopped).
        self.removed = threading.Event()
        self._gone_since: float | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self._host}:{self._port}"

    def tick(self) -> None:
        """What Cloud Scheduler publishes on the heartbeat's schedule. A tick that cannot be
        published is one warning line, and the schedule stops once the deployment is found removed."""
        try:
            self._topics.publish(self._settings.names.topic("heartbeat"), b"tick")
        except ProviderException as err:
            gone = self.gone()
            if gone is None:
                log.warning("heartbeat tick not published: %s", err)
                self._gone_since = None
                return
            now = time.monotonic()
            self._gone_since = self._gone_since if self._gone_since is not None else now
            if now - self._gone_since >= REMOVED_AFTER:
                log.warning("%s: the functions stop", gone)
                if self._ticks is not None:
                    self._ticks.stop()
                self.removed.set()
        else:
            self._gone_since = None

    def gone(self) -> str | None:
        """Why the deployment is gone (removed, or the emulator holding it stopped); None while
        it exists, or when that cannot be told now."""
        name = self._deployment
        try:
            check_emulator("Firestore")
        except ProviderException:
            emulator = f"{FIRESTORE_EMULATOR}={os.environ.get(FIRESTORE_EMULATOR)}"
            return f"the deployment {name!r} is gone with its emulator (nothing answers at {emulator})"
        try:
            exists = self._exists()
        except ProviderException as err:
            log.warning("cannot tell whether the deployment %r exists: %s", name, err)
            return None
        return None if exists else f"the deployment {name!r} does not exist"

    def _exists(self) -> bool:
        documents = Documents(self._settings)
        return documents.get(documents.root, "read the deployment").exists

    def check_deployed(self) -> None:
        """DeploymentNotFoundException, saying what to run, unless the deployment exists;
        ProviderException if that cannot be told (no credentials, no emulator)."""
        if not self._exists():
            raise DeploymentNotFoundException(
                f"the deployment {self._deployment!r} does not exist: deploy it first "
                "(fk deploy service --config CONFIG), then serve its functions"
            )

    def start(self) -> None:
        if self._server is not None:
            return
        try:
            self._server = make_server(self._host, self._port, self._app, threaded=True, request_handler=_QuietHandler)
        except OSError as err:
            raise ProviderException(f"cannot serve the functions at {self.endpoint}: {err}") from err
        self.attempts.listening(time.time())
        self._thread = threading.Thread(target=self._server.serve_forever, name="faaskeeper-functions", daemon=True)
        self._thread.start()
        if self._ticks is not None:
            self._ticks.start()

    def wait_idle(self, timeout: float = 30.0, quiet: float = 0.3) -> bool:
        """Wait until no function has run for ``quiet`` seconds (Pub/Sub pushes what a function
        published within milliseconds here); False after ``timeout``."""
        return self._activity.wait_idle(timeout, quiet)

    def wake(self) -> None:
        """Nothing to do: Pub/Sub pushes each message as it arrives."""

    def stop(self) -> None:
        if self._ticks is not None:
            self._ticks.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._settings.close()
