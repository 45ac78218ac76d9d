"""The watch function on Cloud Functions: the distributor's call of it, and the part its instance runs.

The distributor hands a fan-out over ``watch-fanout`` clients to the ``watch`` entry point
(:class:`HttpWatchFunction`): one HTTP POST whose body is the request's JSON, answered with the
report's JSON (200), or a malformed request's error (400). Under a local function host it posts
to ``<functions-endpoint>/watch``; deployed to a project, to the function's URL (``FK_WATCH_URL``)
with an OIDC identity token of the distributor's service account for that URL as audience, as
Pub/Sub authenticates its pushes. The instance builds only the client channel
(:data:`container_watch_function`).
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.environment import PerDeployment
from faaskeeper.protocol.watch_delivery import DeliveryReport, WatchDelivery
from faaskeeper.protocol.watch_function import WatchFunction, WatchInvoker
from faaskeeper_gcp.channel import GcpClientChannel
from faaskeeper_gcp.errors import gcp_errors
from faaskeeper_gcp.queues import Topics
from faaskeeper_gcp.settings import GcpSettings

#: Clients one invocation serves at once (each send waits for Pub/Sub or a TCP peer).
PARALLELISM = 32


class HttpWatchFunction(WatchInvoker):
    """The deployment's watch function at ``url``, called synchronously over HTTP."""

    def __init__(self, url: str, *, timeout: float, authenticated: bool) -> None:
        """``timeout``: the watch function's own (seconds); the call waits a little longer.
        ``authenticated``: send an OIDC identity token (a Cloud Function requires one)."""
        self._url = url
        self._timeout = timeout + 5
        self._authenticated = authenticated
        self._session: requests.Session | None = None
        self._guard = threading.Lock()

    def _http(self) -> requests.Session:
        with self._guard:
            if self._session is None:
                self._session = _identified_session(self._url) if self._authenticated else requests.Session()
            return self._session

    def invoke(self, request: WatchDelivery) -> DeliveryReport:
        with gcp_errors(f"call the watch function at {self._url}"):
            response = self._http().post(
                self._url,
                data=request.encode(),
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            )
        if response.status_code != 200:
            raise ProviderException(
                f"GCP watch function at {self._url} answered {response.status_code}: {response.text[:300]}"
            )
        try:
            return DeliveryReport.decode(response.content)
        except MalformedMessage as err:
            raise ProviderException(f"GCP watch function at {self._url} answered no watch report: {err}") from err


def _identified_session(audience: str) -> requests.Session:
    """A session that signs each request with an identity token for ``audience``, refreshed as it
    expires (from the metadata server on Cloud Functions, or the application default credentials)."""
    from google.auth.transport.requests import AuthorizedSession, Request
    from google.oauth2 import id_token

    credentials: Any = id_token.fetch_id_token_credentials(audience, request=Request())  # type: ignore[no-untyped-call]
    session: requests.Session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    return session


def _watch_function(config: Config) -> WatchFunction:
    settings = GcpSettings.from_config(config)
    return WatchFunction(GcpClientChannel(settings, Topics(settings)), parallelism=PARALLELISM)


#: This instance's watch function for the deployment ``FK_CONFIG`` names (built on first use).
container_watch_function = PerDeployment(_watch_function)
