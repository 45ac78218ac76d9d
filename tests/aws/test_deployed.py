"""A stack deployed by ``fk deploy`` on moto, its functions run by the Lambda emulator from the
deployed event source mappings and schedule, as a new user would try it."""

from __future__ import annotations

import threading
import uuid

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.metering import difference
from faaskeeper.plugins.manager import get_provider
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.functions import handlers
from faaskeeper_aws.functions.deployed import deployed_functions
from faaskeeper_aws.settings import AwsSettings

from .inventory import leftovers


def mapping_states(settings: AwsSettings) -> list[str]:
    mappings = settings.client("lambda").list_event_source_mappings()["EventSourceMappings"]
    prefix = f":function:{settings.names.prefix}-"
    return sorted(m["State"] for m in mappings if prefix in m["FunctionArn"])


def test_deployed_functions_run_in_the_emulator(moto_server) -> None:
    provider = get_provider("aws")
    data = {
        "cloud-provider": "aws",
        "deployment-name": f"d{uuid.uuid4().hex[:10]}",
        "deployment-region": "us-east-1",
        "user-storage": "persistent",
        "client-channel": "sqs",
        "worker-queue": "sqs",
        "distributor-queue": "sqs",
        "heartbeat-frequency": 0.5,
        "session-timeout": 1.5,
        "watch-fanout": 0,  # every notification through the deployed watch function
        "aws": {"function-timeout": 1, "visibility-timeout": 1, "max-receive-count": 3},
    }
    config = provider.deploy(Config.deserialize(data), clean=True)
    settings = AwsSettings.from_config(config)
    try:
        emulator = deployed_functions(settings)
        assert sorted(t.function for t in emulator.queues) == [
            settings.names.function("distributor"),
            settings.names.function("writer"),
        ]
        assert all(t.batch_size == 10 and t.report_failures for t in emulator.queues)
        [watch_function] = emulator.invoked
        assert (watch_function.function, watch_function.handler) == (settings.names.function("watch"), handlers.watch)
        [schedule] = emulator.schedules
        assert schedule.function == settings.names.function("heartbeat")
        assert schedule.interval == 0.5, "the emulator runs the heartbeat at the config's frequency"
        assert mapping_states(settings) == ["Enabled", "Enabled"], "taken over only while it runs"
        with emulator:
            assert mapping_states(settings) == ["Disabled", "Disabled"], "taken over from moto"
            fired = threading.Event()
            events: list[WatchedEvent] = []

            def watch(event: WatchedEvent) -> None:
                events.append(event)
                fired.set()

            with FaaSKeeperClient(config, timeout=10) as client, FaaSKeeperClient(config, timeout=10) as other:
                client.create("/deployed", b"1")
                other.get_data("/deployed", watch=watch)
                client.create("/deployed/eph", ephemeral=True)
                before = METER.snapshot()
                client.set_data("/deployed", b"2")
                assert fired.wait(10)
                invoked = difference(METER.snapshot(), before).get((f"lambda:{watch_function.function}", "Invoke"))
                assert invoked == 1, "the distributor invoked the watch function"
                assert [e.event_type for e in events] == [WatchEventType.NODE_DATA_CHANGED]
                client.stop()
                assert other.exists("/deployed/eph") is None
                assert other.get_data("/deployed").data == b"2"
        assert mapping_states(settings) == ["Enabled", "Enabled"], "handed back"
    finally:
        provider.remove(config)
    assert leftovers(settings) == {}, "the clients deleted their queues; remove deleted the rest"
