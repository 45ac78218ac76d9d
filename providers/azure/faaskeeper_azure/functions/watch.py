"""The watch function on Azure Functions: the distributor's call of it over HTTP.

The distributor hands a fan-out over ``watch-fanout`` clients to the ``watch`` HTTP function
(:class:`HttpWatchFunction`): one POST whose body is the request's JSON, answered with the
report's JSON (200), or a malformed request's error (400). Under the emulator's function host it
posts to ``<functions-endpoint>/api/watch``; deployed, to the function's URL (``FK_WATCH_URL``)
with its function key (``FK_WATCH_KEY``, sent as ``x-functions-key``). The instance builds only
the client channel (:data:`container_watch_function`).
"""

from __future__ import annotations

import threading

import requests

from faaskeeper.channels.tcp import TcpChannel
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.environment import PerDeployment, getenv
from faaskeeper.protocol.watch_delivery import DeliveryReport, WatchDelivery
from faaskeeper.protocol.watch_function import WatchFunction, WatchInvoker

#: Clients one invocation serves at once (each send waits for a TCP peer).
PARALLELISM = 32
#: Seconds the watch function may run (the Consumption plan's default function timeout).
TIMEOUT = 300.0
#: Where the deployed distributor finds the watch function, and the key it calls it with.
ENV_WATCH_URL = "FK_WATCH_URL"
ENV_WATCH_KEY = "FK_WATCH_KEY"
#: The route of the watch function under the Functions host's ``api`` prefix.
WATCH_ROUTE = "watch"


class HttpWatchFunction(WatchInvoker):
    """The deployment's watch function at ``url``, called synchronously over HTTP."""

    def __init__(self, url: str, *, key: str | None = None, timeout: float = TIMEOUT) -> None:
        self._url = url
        self._headers = {"Content-Type": "application/json", **({"x-functions-key": key} if key else {})}
        self._timeout = timeout + 5
        self._session: requests.Session | None = None
        self._guard = threading.Lock()

    def _http(self) -> requests.Session:
        with self._guard:
            if self._session is None:
                self._session = requests.Session()
            return self._session

    def invoke(self, request: WatchDelivery) -> DeliveryReport:
        try:
            response = self._http().post(self._url, data=request.encode(), headers=self._headers, timeout=self._timeout)
        except requests.RequestException as err:
            raise ProviderException(f"Azure watch function at {self._url} unreachable: {err}") from err
        if response.status_code != 200:
            raise ProviderException(
                f"Azure watch function at {self._url} answered {response.status_code}: {response.text[:300]}"
            )
        try:
            return DeliveryReport.decode(response.content)
        except MalformedMessage as err:
            raise ProviderException(f"Azure watch function at {self._url} answered no watch report: {err}") from err


def watch_function(functions_endpoint: str | None) -> HttpWatchFunction | None:
    """The deployment's watch function as the distributor calls it: under the emulator's function
    host at ``<functions-endpoint>/api/watch``; deployed, at ``FK_WATCH_URL``. None without
    either: the distributor then delivers every fan-out itself."""
    if functions_endpoint is not None:
        return HttpWatchFunction(f"{functions_endpoint.rstrip('/')}/api/{WATCH_ROUTE}")
    url = getenv(ENV_WATCH_URL)
    return HttpWatchFunction(url, key=getenv(ENV_WATCH_KEY)) if url else None


def _watch_function(config: Config) -> WatchFunction:
    return WatchFunction(TcpChannel(), parallelism=PARALLELISM)


#: This instance's watch function for the deployment ``FK_CONFIG`` names (built on first use).
container_watch_function = PerDeployment(_watch_function)
