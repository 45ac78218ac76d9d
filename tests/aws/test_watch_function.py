"""The watch function on Lambda (moto, the Lambda emulator): the distributor invokes it for a
fan-out over ``watch-fanout`` and every watcher is told once, before the writer's reply; its
entry point takes Lambda's event and refuses a malformed one; the emulator answers ``Invoke`` as
Lambda does; a failed invocation leaves the delivery to the distributor."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from faaskeeper.api.provider import Deployment
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.metering import Meter, difference
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.environment import function_environment
from faaskeeper.protocol.watch_delivery import ClientEvents, DeliveryReport, WatchDelivery
from faaskeeper.testing.fanout import Listen, check_fan_out, opened_deployments
from faaskeeper.testing.support import Inbox
from faaskeeper.watch import WatchEventType
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.functions import handlers
from faaskeeper_aws.functions.deployed import handler_environment, local_functions
from faaskeeper_aws.functions.events import LambdaContext
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.functions.invoke import emulated_lambda
from faaskeeper_aws.functions.watch import LambdaWatchFunction
from faaskeeper_aws.settings import AwsSettings


@pytest.fixture
def listened() -> Iterator[Callable[[Config], tuple[Deployment, Listen]]]:
    """``listened(config)``: the deployment and its ``listen``, closed and stopped after the test."""
    with opened_deployments() as open_:
        yield open_


def watch_invocations(meter: Meter, before: dict[tuple[str, str], int], settings: AwsSettings) -> int:
    return difference(meter.snapshot(), before).get((f"lambda:{settings.names.function('watch')}", "Invoke"), 0)


@pytest.mark.parametrize("channel", ["tcp", "sqs"])
def test_a_fan_out_over_the_threshold_goes_through_the_watch_function(
    stackless: Callable[..., Config], emulate: Callable[..., LambdaEmulator], listened, channel: str
) -> None:
    config = stackless(channel=channel, watch_fanout=2)
    settings = AwsSettings.from_config(config)
    meter = Meter()
    emulator = emulate(config, meter=meter)
    deployment, listen = listened(config)
    with FaaSKeeperClient(config, timeout=10) as client:
        client.create("/fan", b"0")
        before = meter.snapshot()
        fanned = check_fan_out(deployment, listen, "/fan", 2, 10)
        assert fanned.clients == 3
        assert watch_invocations(meter, before, settings) == 1
        # Two clients are within the threshold: the distributor tells them itself.
        before = meter.snapshot()
        check_fan_out(deployment, listen, "/fan", 1, 10)
        assert watch_invocations(meter, before, settings) == 0
    assert emulator.errors == []


def test_without_a_watch_function_the_distributor_delivers_the_fan_out_itself(
    stackless: Callable[..., Config], listened, caplog: pytest.LogCaptureFixture
) -> None:
    config = stackless(watch_fanout=0)
    settings = AwsSettings.from_config(config)
    deployment, listen = listened(config)
    with LambdaEmulator(settings, local_functions(config, settings).queues) as emulator:
        fanned = check_fan_out(deployment, listen, "/", 2, 10)
    assert emulator.errors == [], "the failed invocation failed no write"
    [warning] = [r.getMessage() for r in caplog.records if r.name == "faaskeeper.watch"]
    assert f"watch function failed on transaction {fanned.txn}" in warning
    assert "ResourceNotFoundException" in warning
    assert warning.endswith("the distributor delivers to its 3 clients")


def request(address: str) -> WatchDelivery:
    return WatchDelivery(9, (ClientEvents(address, (("/a", WatchEventType.NODE_DELETED),)),))


def test_the_entry_point_takes_the_request_as_its_event_and_refuses_a_malformed_one(
    stackless: Callable[..., Config], listened
) -> None:
    config = stackless()
    _, listen = listened(config)
    inbox = Inbox()
    address = listen(inbox).address
    context = LambdaContext(AwsSettings.from_config(config).names.function("watch"))
    with function_environment(handler_environment(config)):
        bad = request(address).to_json()
        bad["clients"][0]["events"][0]["event"] = "NodeGone"
        with pytest.raises(MalformedMessage, match=r"clients\[0\]\.events\[0\]: 'event' must be one of"):
            handlers.watch(bad, context)
        report = handlers.watch(request(address).to_json(), context)
    assert DeliveryReport.from_json(report) == DeliveryReport(9, 1)
    assert [json.loads(m) for m in inbox.wait_for(1, 10)] == [
        {"kind": "watch", "txn": 9, "path": "/a", "event": "NodeDeleted"}
    ], "the malformed request sent nothing"


def test_the_emulator_answers_invoke_as_lambda_does(stackless: Callable[..., Config], listened) -> None:
    config = stackless()
    settings = AwsSettings.from_config(config)
    _, listen = listened(config)
    address = listen(Inbox()).address
    emulator = local_functions(config, settings)
    name = settings.names.function("watch")

    def invoke(**params: Any) -> tuple[dict[str, Any], Any]:
        response = emulator.invoke(**params)
        return response, json.loads(response["Payload"].read())

    response, payload = invoke(FunctionName=name, InvocationType="RequestResponse", Payload=request(address).encode())
    assert (response["StatusCode"], "FunctionError" in response) == (200, False)
    assert DeliveryReport.from_json(payload) == DeliveryReport(9, 1)
    arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    response, payload = invoke(FunctionName=arn, Payload=json.dumps({"kind": "watch-delivery"}))
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "MalformedMessage"
    assert payload["errorMessage"] == "missing field 'txn'"
    for params, code in (
        ({"FunctionName": f"{name}-other", "Payload": b"{}"}, "ResourceNotFoundException"),
        ({"FunctionName": name, "Payload": b"{"}, "InvalidRequestContentException"),
        ({"FunctionName": name, "Payload": b"{}", "InvocationType": "Event"}, "InvalidParameterValueException"),
    ):
        with pytest.raises(ClientError) as raised:
            emulator.invoke(**params)
        assert raised.value.response["Error"]["Code"] == code

    # The distributor's invoker. Outside the emulator it calls the Lambda API, counted as a request
    # (moto has no function to run); inside an emulated invocation it reaches the emulator.
    invoker = LambdaWatchFunction(settings, timeout=5)
    before = METER.snapshot()
    with pytest.raises(ProviderException, match=rf"AWS invoke {name} failed: ResourceNotFoundException"):
        invoker.invoke(request(address))
    assert difference(METER.snapshot(), before).get(("lambda", "Invoke")) == 1
    with emulated_lambda(emulator.invoke):
        assert invoker.invoke(request(address)) == DeliveryReport(9, 1)
        with pytest.raises(ProviderException, match=rf"AWS function {name} failed: MalformedMessage: .*must begin"):
            invoker.invoke(WatchDelivery(9, (ClientEvents(address, (("a", WatchEventType.NODE_DELETED),)),)))
