"""The requests one write makes on AWS, against the upstream FaaSKeeper's write."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.metering import difference
from faaskeeper.watch import WatchedEvent, WatchEventType
from faaskeeper_aws.cost.measure import measure_operations
from faaskeeper_aws.cost.metering import METER
from faaskeeper_aws.cost.pricing import UPSTREAM_WRITE, Units, billable_units
from faaskeeper_aws.functions.deployed import local_functions
from faaskeeper_aws.functions.host import LambdaEmulator
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.system import DynamoDbSystemStorage

ROLES = ("writer", "distributor")


def _requests(units: Units, messages: float) -> float:
    """The upstream's measure of a write: DynamoDB units, S3 requests, queue messages and Lambda
    runs (the Lambda pollers' receives and deletes are billed too, alike for both)."""
    return units.dynamodb_rru + units.dynamodb_wru + units.s3_put + units.s3_get + messages + units.lambda_requests


def _stepped_set_data(config: Config, client: FaaSKeeperClient, path: str, value: bytes) -> dict[tuple[str, str], int]:
    """The requests of one set_data, the functions run one after the other, as Lambda runs them
    but for the moment the distributor starts: here never before the writer committed. Its first
    delivery: a redelivery checks more (the session, and the node's ancestors)."""
    settings = AwsSettings.from_config(config)
    triggers = local_functions(config, settings).queues
    writer, distributor = (next(t for t in triggers if t.function == settings.names.function(role)) for role in ROLES)
    stepped = LambdaEmulator(settings, triggers)
    before = METER.snapshot()
    written = client.set_data_async(path, value)
    for trigger in (writer, distributor):
        assert stepped.poll(trigger, wait=5), f"no message reached {trigger.function}"
    written.get(10)
    return difference(METER.snapshot(), before)


@pytest.mark.parametrize("storage", ["persistent", "key-value", "hybrid"])
def test_a_set_data_costs_fewer_requests_than_the_upstreams(stackless: Callable[..., Config], storage: str) -> None:
    config = stackless(storage=storage, channel="tcp", heartbeat=60, session_timeout=180)
    settings = AwsSettings.from_config(config)
    client = FaaSKeeperClient(config, timeout=10)
    with LambdaEmulator(settings, local_functions(config, settings).queues) as setup:
        client.start()
        client.create("/measured", b"before")
    setup.settle()
    try:
        counted = _stepped_set_data(config, client, "/measured", b"after")
    finally:
        with LambdaEmulator(settings, local_functions(config, settings).queues):
            client.stop()
    assert ("dynamodb", "TransactWriteItems") not in counted, f"a set_data needs no transaction: {counted}"
    # The writer reads no session (the request carries the session's lease from its registration);
    # the distributor reads no node, and its claim tells it the node has no watch to look for.
    assert ("dynamodb", "GetItem") not in counted, counted
    assert ("dynamodb", "Query") not in counted, counted
    # The writer's lock and commit and the distributor's claim; key-value and hybrid user storage
    # (a small node: inline) add their PutItem.
    assert counted[("dynamodb", "UpdateItem")] == 3, counted
    units = billable_units(counted)
    user_writes = 0 if storage == "persistent" else 1
    assert (units.dynamodb_rru, units.dynamodb_wru) == (0, UPSTREAM_WRITE.dynamodb_wru + user_writes), counted
    assert units.s3_put == (1 if storage == "persistent" else 0)
    assert counted[("sqs", "SendMessage")] == 2
    assert counted[("lambda", "Invoke")] == 2
    upstream = _requests(UPSTREAM_WRITE, UPSTREAM_WRITE.sqs_requests)
    assert _requests(units, counted[("sqs", "SendMessage")]) == upstream - 1 == 8


def test_a_watched_node_is_looked_up_until_its_watches_are_gone(stackless: Callable[..., Config]) -> None:
    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    settings = AwsSettings.from_config(config)
    client = FaaSKeeperClient(config, timeout=10)
    events: list[WatchedEvent] = []
    with LambdaEmulator(settings, local_functions(config, settings).queues) as setup:
        client.start()
        client.create("/watched", b"0")
        before = METER.snapshot()
        client.get_data("/watched", watch=events.append)
        registration = difference(METER.snapshot(), before)
    setup.settle()
    try:
        # The watch's item and its count on the node, and the one read of the node: no read again.
        assert registration[("dynamodb", "UpdateItem")] == 2, registration
        assert registration[("s3", "GetObject")] == 1, registration
        fired = _stepped_set_data(config, client, "/watched", b"1")
        assert [e.event_type for e in events] == [WatchEventType.NODE_DATA_CHANGED]
        assert fired[("dynamodb", "Query")] == 1, fired
        # The next write finds the node's watches gone, and settles its tally: one more write.
        settling = _stepped_set_data(config, client, "/watched", b"2")
        assert settling[("dynamodb", "Query")] == 1, settling
        assert settling[("dynamodb", "UpdateItem")] == 4, settling
        quiet = _stepped_set_data(config, client, "/watched", b"3")
        assert ("dynamodb", "Query") not in quiet, quiet
        assert quiet[("dynamodb", "UpdateItem")] == 3, quiet
        assert len(events) == 1
    finally:
        with LambdaEmulator(settings, local_functions(config, settings).queues):
            client.stop()


def test_a_create_and_a_delete_write_no_session_item(stackless: Callable[..., Config]) -> None:
    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    requests = measure_operations(config, repetitions=2, functions="local").requests
    for write in ("create", "delete"):
        counted = requests[write]
        # One transaction over the node and its parent: the session's progress is marked on the parent.
        assert counted[("dynamodb", "TransactWriteItems")] == 1, (write, counted)
        assert counted[("dynamodb", "TransactWriteItems.items")] == 2, (write, counted)


def test_a_watch_stored_before_there_were_tallies_is_found_by_the_next_write(stackless: Callable[..., Config]) -> None:
    """A deployment upgraded with watches stored, uncounted, on node items that have no tally."""
    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    settings = AwsSettings.from_config(config)
    client = FaaSKeeperClient(config, timeout=10)
    events: list[WatchedEvent] = []
    ddb = settings.client("dynamodb")
    with LambdaEmulator(settings, local_functions(config, settings).queues) as setup:
        client.start()
        client.create("/old", b"0")
        ddb.update_item(
            TableName=settings.names.nodes_table,
            Key={"path": {"S": "/old"}},
            UpdateExpression="REMOVE watch_count, watch_settled",
        )
        with pytest.MonkeyPatch.context() as patch:
            # As a client from before there were tallies: the watch is stored, not counted.
            patch.setattr(DynamoDbSystemStorage, "count_watch", lambda _self, _watch: None)
            client.get_data("/old", watch=events.append)
    setup.settle()
    try:
        fired = _stepped_set_data(config, client, "/old", b"1")
        assert [e.event_type for e in events] == [WatchEventType.NODE_DATA_CHANGED]
        assert fired[("dynamodb", "Query")] == 1, fired
        settling = _stepped_set_data(config, client, "/old", b"2")
        assert settling[("dynamodb", "Query")] == 1, "the watch fired: the next write finds none, and settles"
        quiet = _stepped_set_data(config, client, "/old", b"3")
        assert ("dynamodb", "Query") not in quiet, quiet
        assert len(events) == 1
    finally:
        with LambdaEmulator(settings, local_functions(config, settings).queues):
            client.stop()
