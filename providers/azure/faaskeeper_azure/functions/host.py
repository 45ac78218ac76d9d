"""Serving a deployment's functions from the v2 app on this machine, as the Functions host would.

:class:`FunctionHost` finds the functions and their triggers through ``app.get_functions()``
(:data:`faaskeeper_azure.functions.function_app.app`), resolves the ``%SETTING%`` names of their
bindings from the deployment's app settings, and then, as the Functions host does:

* polls each queue-triggered function's Storage Queue (until the queue is gone: the deployment
  was removed, and :attr:`FunctionHost.gone` is set) (the writer's with ``writer_threads``
  pollers, the distributor's with one, a message at a time), invokes the function with an
  ``azure.functions.QueueMessage`` built from the message (id, the body's base64 decoded,
  dequeue count, pop receipt, insertion and next-visible times), deletes the message when the
  function returns and makes it visible again when it raises; a message dequeued
  ``MAX_DEQUEUE`` times that fails again, or one found dequeued more often (its instance died),
  is moved to ``<queue>-poison``. An instance that dies (:class:`FunctionCrash`) leaves its
  message hidden until its visibility timeout ends, as a killed worker does;
* runs the timer-triggered function every ``heartbeat-frequency`` seconds with an
  ``azure.functions.TimerRequest``;
* serves each HTTP-triggered function at ``<azure.functions-endpoint>/api/<route>`` with an
  ``azure.functions.HttpRequest``.

Every invocation runs with the app settings as its environment
(:func:`faaskeeper.protocol.environment.function_environment`), so several deployments can be
served side by side, and is counted with its duration in the provider's meter
(:func:`faaskeeper_azure.cost.metering.count_execution`). The host's own queue requests (its
polls, deletes and releases) are counted in the host's :attr:`FunctionHost.meter`, apart: the
emulated host polls far more often than Azure's. ``python -m faaskeeper_azure.emulator CONFIG``
runs one.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import azure.functions as func
from azure.functions.queue import QueueMessage as BoundQueueMessage
from azure.functions.timer import TimerRequest
from azure.storage.queue import QueueMessage as StoredMessage

from faaskeeper.api.provider import FunctionHost as CoreFunctionHost
from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException, DeploymentNotFoundException, ProviderException
from faaskeeper.metering import Meter, count_batch
from faaskeeper.protocol.environment import function_environment
from faaskeeper.protocol.host import ScheduledFunction
from faaskeeper.protocol.settings import FunctionCrash
from faaskeeper_azure.cost.metering import count_execution
from faaskeeper_azure.errors import Refused, azure_errors, is_missing
from faaskeeper_azure.functions.function_app import STORAGE_CONNECTION, app_settings
from faaskeeper_azure.queues import MAX_DEQUEUE, StorageQueues, poison_queue

log = logging.getLogger("faaskeeper.azure.host")

#: Seconds a received message stays hidden while its function runs.
VISIBILITY = 30
#: Seconds between two looks at an empty queue.
IDLE_POLL = 0.05


def resolve(value: str, settings: Mapping[str, str]) -> str:
    """A binding's value with ``%SETTING%`` replaced from the app settings, as the host does."""
    if len(value) > 2 and value.startswith("%") and value.endswith("%"):
        name = value[1:-1]
        if name not in settings:
            raise ConfigurationException(f"the function app names the app setting {name}, which is not set")
        return settings[name]
    return value


@dataclass(frozen=True)
class Binding:
    """One function of the app with its trigger, as ``app.get_functions()`` shows it."""

    name: str
    trigger: str
    fields: dict[str, Any]
    function: Callable[..., Any]


#: The bindings of each app, indexed once: ``app.get_functions()`` refuses to index an app twice.
_indexed: weakref.WeakKeyDictionary[func.FunctionApp, list[Binding]] = weakref.WeakKeyDictionary()
_indexing = threading.Lock()


def bindings(app: func.FunctionApp) -> list[Binding]:
    """The app's functions with their triggers."""
    with _indexing:
        found = _indexed.get(app)
        if found is None:
            found = _indexed[app] = _index(app)
        return list(found)


def _index(app: func.FunctionApp) -> list[Binding]:
    found = []
    for function in app.get_functions():
        trigger = function.get_trigger()
        if trigger is None:
            continue
        fields = trigger.get_dict_repr()
        found.append(
            Binding(function.get_function_name() or "", str(fields["type"]), fields, function.get_user_function())
        )
    return found


def bound_message(message: StoredMessage) -> BoundQueueMessage:
    """The ``azure.functions.QueueMessage`` the host hands a function for a Storage Queue message."""
    content = message.content
    body = content.encode() if isinstance(content, str) else bytes(content or b"")
    return BoundQueueMessage(  # type: ignore[no-untyped-call]
        id=message.id,
        body=body,
        dequeue_count=message.dequeue_count,
        expiration_time=message.expires_on,
        insertion_time=message.inserted_on,
        time_next_visible=message.next_visible_on,
        pop_receipt=message.pop_receipt,
    )


class _QueuePoller:
    """Feeds one queue's messages to its function, as the host's queue listener does."""

    def __init__(
        self,
        queues: StorageQueues,
        queue: str,
        binding: Binding,
        invoke: Callable[[Callable[[], object], str], object],
        *,
        threads: int,
        visibility: int,
        gone: Callable[[DeploymentNotFoundException], None],
    ) -> None:
        self._queues = queues
        self.queue = queue
        self._binding = binding
        self._invoke = invoke
        self._threads = threads
        self._visibility = visibility
        self._gone = gone
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._running: list[threading.Thread] = []

    def start(self) -> None:
        self._stopping.clear()
        for index in range(self._threads):
            thread = threading.Thread(target=self._run, name=f"faaskeeper-{self.queue}-{index}", daemon=True)
            thread.start()
            self._running.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        for thread in self._running:
            thread.join(timeout=10)
        self._running.clear()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                worked = self.poll_once()
            except DeploymentNotFoundException as err:
                self._gone(err)
                return
            except ProviderException as err:
                log.warning("polling %s failed: %s", self.queue, err)
                worked = False
            if not worked:
                self._wake.wait(IDLE_POLL)
                self._wake.clear()

    def poll_once(self) -> bool:
        """Receive and handle one message; whether there was one."""
        client = self._queues.client(self.queue)
        with azure_errors(f"receive from queue {self.queue}"):
            try:
                received = list(client.receive_messages(max_messages=1, visibility_timeout=self._visibility))
            except Refused as err:
                if is_missing(err):
                    raise DeploymentNotFoundException(
                        f"the Storage Queue {self.queue} is gone: the deployment was removed"
                    ) from err
                raise
        for message in received:
            self.handle(message)
        return bool(received)

    def handle(self, message: StoredMessage) -> None:
        client = self._queues.client(self.queue)
        if (message.dequeue_count or 0) > MAX_DEQUEUE:
            self._poison(message)
            return
        argument = self._binding.fields["name"]
        count_batch(self._binding.name, 1)  # a queue trigger is handed one message
        try:
            self._invoke(lambda: self._binding.function(**{argument: bound_message(message)}), self._binding.name)
        except FunctionCrash as crash:
            log.warning("function instance of %s died at %s", self._binding.name, crash)
            return
        except Exception:
            log.exception("function %s failed on message %s", self._binding.name, message.id)
            if (message.dequeue_count or 0) >= MAX_DEQUEUE:
                self._poison(message)
                return
            with azure_errors(f"release a message of {self.queue}"):
                client.update_message(message, visibility_timeout=0)
            return
        with azure_errors(f"delete a message of {self.queue}"):
            client.delete_message(message)

    def _poison(self, message: StoredMessage) -> None:
        log.error("message %s of %s failed %d times: moved to its poison queue", message.id, self.queue, MAX_DEQUEUE)
        self._queues.send(poison_queue(self.queue), str(message.content))
        with azure_errors(f"delete a message of {self.queue}"):
            self._queues.client(self.queue).delete_message(message)


class FunctionHost(CoreFunctionHost):
    """The functions of ``config``'s deployment, from the v2 app, on the emulated cloud."""

    def __init__(
        self,
        config: Config,
        *,
        app: func.FunctionApp | None = None,
        schedule: bool = True,
        writer_threads: int = 2,
        visibility: int = VISIBILITY,
        endpoint: str | None = None,
    ) -> None:
        if app is None:
            from faaskeeper_azure.functions.function_app import app as deployed_app

            app = deployed_app
        self.config = config
        self.settings = app_settings(config)
        connection = self.settings.get(STORAGE_CONNECTION)
        if connection is None:
            raise ConfigurationException(
                "Config key 'azure.storage-connection-string' is required to serve the functions here"
            )
        #: The host's own queue requests (receives, deletes, releases, depth checks).
        self.meter = Meter()
        self._queues = StorageQueues(connection, meter=self.meter)
        self._pollers: list[_QueuePoller] = []
        self._timers: list[ScheduledFunction] = []
        self._routes: dict[str, Binding] = {}
        for binding in bindings(app):
            if binding.trigger == "queueTrigger":
                queue = resolve(str(binding.fields["queueName"]), self.settings)
                threads = writer_threads if binding.name == "writer" else 1
                self._pollers.append(
                    _QueuePoller(
                        self._queues,
                        queue,
                        binding,
                        self.invoke,
                        threads=threads,
                        visibility=visibility,
                        gone=self._deployment_gone,
                    )
                )
            elif binding.trigger == "timerTrigger" and schedule:
                resolve(str(binding.fields["schedule"]), self.settings)
                self._timers.append(self._timer(binding))
            elif binding.trigger == "httpTrigger":
                self._routes[str(binding.fields.get("route") or binding.name)] = binding
        section = config.provider_section.get("functions-endpoint")
        self.endpoint = endpoint or (section if isinstance(section, str) else None)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        #: Set once a queue of the deployment is gone (``fk remove service``): its pollers have
        #: stopped, and whoever runs the host stops it.
        self.gone = threading.Event()

    def _deployment_gone(self, err: DeploymentNotFoundException) -> None:
        if not self.gone.is_set():
            log.error("%s; the functions stop", err)
            self.gone.set()

    def invoke(self, call: Callable[[], object], name: str) -> object:
        """Run one invocation of function ``name`` with the deployment's app settings as its
        environment, counting the execution and its duration."""
        started = time.monotonic()
        try:
            with function_environment(self.settings):
                return call()
        finally:
            count_execution(name, time.monotonic() - started)

    def _timer(self, binding: Binding) -> ScheduledFunction:
        argument = binding.fields["name"]

        def tick() -> None:
            try:
                self.invoke(lambda: binding.function(**{argument: TimerRequest(past_due=False)}), binding.name)
            except FunctionCrash as crash:
                log.warning("function instance of %s died at %s", binding.name, crash)

        return ScheduledFunction(self.config.heartbeat_interval, tick, f"faaskeeper-{binding.name}-timer")

    def poller(self, queue: str) -> _QueuePoller:
        return next(p for p in self._pollers if p.queue == queue)

    def call_http(self, route: str, request: func.HttpRequest) -> func.HttpResponse:
        """Invoke the HTTP function at ``route`` as the host would; 404 if there is none."""
        binding = self._routes.get(route)
        if binding is None:
            return func.HttpResponse("no such function", status_code=404)
        argument = binding.fields["name"]
        try:
            response = self.invoke(lambda: binding.function(**{argument: request}), binding.name)
        except FunctionCrash as crash:
            log.warning("function instance of %s died at %s", binding.name, crash)
            return func.HttpResponse("the function instance died", status_code=500)
        except Exception:
            log.exception("function %s failed", binding.name)
            return func.HttpResponse("the function failed", status_code=500)
        if not isinstance(response, func.HttpResponse):
            return func.HttpResponse("the function answered no response", status_code=500)
        return response

    def start(self) -> None:
        if self.endpoint is not None and self._routes and self._server is None:
            self._serve(self.endpoint)
        for poller in self._pollers:
            poller.start()
        for timer in self._timers:
            timer.start()

    def _serve(self, endpoint: str) -> None:
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.hostname is None or parsed.port is None:
            raise ConfigurationException(f"Config key 'azure.functions-endpoint' needs a host and a port: {endpoint!r}")
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._answer()

            def do_GET(self) -> None:
                self._answer()

            def _answer(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                route = url.path.removeprefix("/api/").strip("/")
                length = int(self.headers.get("Content-Length") or 0)
                request = func.HttpRequest(
                    method=self.command,
                    url=f"{endpoint.rstrip('/')}{self.path}",
                    headers=dict(self.headers.items()),
                    params=dict(urllib.parse.parse_qsl(url.query)),
                    body=self.rfile.read(length),
                )
                response = host.call_http(route, request)
                body = response.get_body()
                self.send_response(response.status_code)
                self.send_header("Content-Type", response.mimetype or "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        try:
            self._server = ThreadingHTTPServer((parsed.hostname, parsed.port), Handler)
        except OSError as err:
            raise ProviderException(f"cannot serve the HTTP functions at {endpoint}: {err}") from err
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faaskeeper-http", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        for poller in self._pollers:
            poller.wake()

    def stop(self) -> None:
        for timer in self._timers:
            timer.stop()
        for poller in self._pollers:
            poller.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._queues.close()

    def wait_idle(self, timeout: float = 30.0, quiet: float = 0.3) -> bool:
        """Wait until the deployment's queues have stayed empty for ``quiet`` seconds; False after
        ``timeout``."""
        deadline = time.monotonic() + timeout
        empty_since: float | None = None
        while time.monotonic() < deadline:
            if all(self._empty(p.queue) for p in self._pollers):
                empty_since = empty_since or time.monotonic()
                if time.monotonic() - empty_since >= quiet:
                    return True
            else:
                empty_since = None
            time.sleep(0.05)
        return False

    def _empty(self, queue: str) -> bool:
        with azure_errors(f"read the properties of queue {queue}"):
            return int(self._queues.client(queue).get_queue_properties().approximate_message_count or 0) == 0
