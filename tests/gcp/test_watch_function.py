"""The watch function on GCP (emulators, functions-framework): the distributor calls it over HTTP
for a fan-out over ``watch-fanout`` and every watcher is told once, before the writer's reply;
the entry point answers a malformed request 400 and sends nothing; in a project the distributor
calls the deployed function's URL with an identity token for it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from faaskeeper.api.provider import Deployment
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.metering import difference
from faaskeeper.protocol.environment import function_environment
from faaskeeper.protocol.watch_delivery import ClientEvents, DeliveryReport, WatchDelivery
from faaskeeper.testing.fanout import Listen, check_fan_out, opened_deployments
from faaskeeper.testing.support import Inbox
from faaskeeper.watch import WatchEventType
from faaskeeper_gcp.cost.metering import METER
from faaskeeper_gcp.functions import functions
from faaskeeper_gcp.functions.host import FunctionServer
from faaskeeper_gcp.functions.watch import HttpWatchFunction
from faaskeeper_gcp.names import ENV_WATCH_URL

from .fixtures import gcp_config


@pytest.fixture
def listened() -> Iterator[Callable[[Config], tuple[Deployment, Listen]]]:
    """``listened(config)``: the deployment and its ``listen``, closed and stopped after the test."""
    with opened_deployments() as open_:
        yield open_


def watch_invocations(before: dict[tuple[str, str], int]) -> int:
    return difference(METER.snapshot(), before).get(("functions:watch", "invocations"), 0)


@pytest.mark.parametrize("channel", ["tcp", "pubsub"])
def test_a_fan_out_over_the_threshold_goes_through_the_watch_function(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer], listened, channel: str
) -> None:
    config = deployed(channel=channel, watch_fanout=2)
    serve(config, schedule=False)
    deployment, listen = listened(config)
    with FaaSKeeperClient(config, timeout=20) as client:
        client.create("/fan", b"0")
        before = METER.snapshot()
        assert check_fan_out(deployment, listen, "/fan", 2, 20).clients == 3
        assert watch_invocations(before) == 1
        # Two clients are within the threshold: the distributor tells them itself.
        before = METER.snapshot()
        check_fan_out(deployment, listen, "/fan", 1, 20)
        assert watch_invocations(before) == 0


def test_the_entry_point_answers_a_report_or_a_malformed_requests_error(
    deployed: Callable[..., Config], serve: Callable[..., FunctionServer], listened
) -> None:
    config = deployed()
    server = serve(config, schedule=False)
    _, listen = listened(config)
    inbox = Inbox()
    address = listen(inbox).address
    url = f"{server.endpoint}/watch"
    request = WatchDelivery(5, (ClientEvents(address, (("/x", WatchEventType.NODE_CREATED),)),))
    for body, error in (
        (b"not json", "a watch delivery must be a JSON object: the body is not JSON"),
        (json.dumps({**request.to_json(), "txn": -5}).encode(), "'txn' must be a transaction id (0 or more), got -5"),
    ):
        refused = requests.post(url, data=body, timeout=10)
        assert (refused.status_code, refused.json()) == (400, {"error": error})
    answered = requests.post(url, data=request.encode(), headers={"Content-Type": "application/json"}, timeout=10)
    assert answered.status_code == 200
    assert DeliveryReport.from_json(answered.json()) == DeliveryReport(5, 1)
    assert [json.loads(m) for m in inbox.wait_for(1, 10)] == [
        {"kind": "watch", "txn": 5, "path": "/x", "event": "NodeCreated"}
    ], "the refused requests sent nothing"


class _Recording:
    """A stand-in for a deployed watch function: records each request's headers, answers a report."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self._server = make_server("127.0.0.1", 0, self)
        self.url = f"http://127.0.0.1:{self._server.port}/watch"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.headers.append(dict(request.headers))
        txn = json.loads(request.get_data())["txn"]
        return Response(DeliveryReport(txn, 1).encode(), mimetype="application/json")(environ, start_response)

    def stop(self) -> None:
        self._server.shutdown()


def test_in_a_project_the_distributor_calls_the_deployed_url_with_an_identity_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import google.oauth2.credentials
    import google.oauth2.id_token

    audiences: list[str] = []

    def identity(audience: str, request: Any = None) -> google.oauth2.credentials.Credentials:
        audiences.append(audience)
        return google.oauth2.credentials.Credentials(token="identity-for-watch")

    monkeypatch.setattr(google.oauth2.id_token, "fetch_id_token_credentials", identity)
    deployed = _Recording()
    try:
        raw = gcp_config().serialize()
        del raw["gcp"]["functions-endpoint"]
        with function_environment({ENV_WATCH_URL: deployed.url}):
            invoker = functions.watch_function(Config.deserialize(raw))
        assert isinstance(invoker, HttpWatchFunction)
        request = WatchDelivery(8, (ClientEvents("tcp://127.0.0.1:1", (("/y", WatchEventType.NODE_DELETED),)),))
        assert invoker.invoke(request) == DeliveryReport(8, 1)
        assert invoker.invoke(request) == DeliveryReport(8, 1)
    finally:
        deployed.stop()
    assert audiences == [deployed.url], "one token source, for the function's URL"
    assert [h.get("Authorization") for h in deployed.headers] == ["Bearer identity-for-watch"] * 2
    assert functions.watch_function(Config.deserialize(raw)) is None, "no URL: the distributor delivers itself"
