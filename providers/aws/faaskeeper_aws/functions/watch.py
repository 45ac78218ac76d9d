"""The watch function on Lambda: the distributor's invocation of it, and the part its container runs.

The distributor hands a fan-out over ``watch-fanout`` clients to ``faaskeeper-<deployment>-watch``
(:class:`LambdaWatchFunction`): one synchronous ``Invoke`` whose payload is the request's JSON,
which Lambda passes to ``faaskeeper_aws.functions.handlers.watch`` as its event; the handler's return
value, the report, is the response's payload. The container builds only the client channel
(:data:`container_watch_function`): its role may send to client inboxes and write its logs,
nothing else.
"""

from __future__ import annotations

from faaskeeper.config import Config
from faaskeeper.exceptions import ProviderException
from faaskeeper.protocol.codec import MalformedMessage
from faaskeeper.protocol.environment import PerDeployment
from faaskeeper.protocol.watch_delivery import DeliveryReport, WatchDelivery
from faaskeeper.protocol.watch_function import WatchFunction, WatchInvoker
from faaskeeper_aws.channel.server import AwsClientChannel
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.functions.invoke import invoke
from faaskeeper_aws.settings import AwsSettings

#: Clients one invocation serves at once (each send waits for SQS or a TCP peer).
PARALLELISM = 32


class LambdaWatchFunction(WatchInvoker):
    """The deployment's watch function, invoked synchronously through the Lambda API."""

    def __init__(self, settings: AwsSettings, timeout: float) -> None:
        """``timeout``: the watch function's own (seconds); the invocation waits a little longer.
        A failed invocation is not retried: the distributor delivers the fan-out itself instead."""
        self._name = settings.names.function("watch")
        client = settings.client("lambda", read_timeout=timeout + 5, retries={"total_max_attempts": 1})
        self._lambda = MeteredClient(client, "lambda")

    def invoke(self, request: WatchDelivery) -> DeliveryReport:
        answer = invoke(self._lambda, self._name, request.encode())
        try:
            return DeliveryReport.decode(answer)
        except MalformedMessage as err:
            raise ProviderException(f"AWS function {self._name} answered no watch report: {err}") from err


def _watch_function(config: Config) -> WatchFunction:
    return WatchFunction(AwsClientChannel(AwsSettings.from_config(config)), parallelism=PARALLELISM)


#: This container's watch function for the deployment ``FK_CONFIG`` names (built on first use).
container_watch_function = PerDeployment(_watch_function)
