"""The requests one write makes on AWS, against the upstream FaaSKeeper's write."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.metering import difference
from faaskeeper_aws.lambda_host import LambdaEmulator
from faaskeeper_aws.lambda_stack import local_functions
from faaskeeper_aws.measure import measure_operations
from faaskeeper_aws.metering import METER
from faaskeeper_aws.pricing import UPSTREAM_WRITE, billable_units
from faaskeeper_aws.settings import AwsSettings

ROLES = ("writer", "distributor")


@pytest.mark.parametrize("storage", ["persistent", "key-value"])
def test_a_set_data_commits_with_one_conditional_write(stackless: Callable[..., Config], storage: str) -> None:
    config = stackless(storage=storage, channel="tcp", heartbeat=60, session_timeout=180)
    settings = AwsSettings.from_config(config)
    triggers = local_functions(config, settings).queues
    writer, distributor = (next(t for t in triggers if t.function == settings.names.function(role)) for role in ROLES)
    client = FaaSKeeperClient(config, timeout=10)
    with LambdaEmulator(settings, triggers) as setup:
        client.start()
        client.create("/measured", b"before")
    # The set_data's first delivery is the stepped one: a redelivery checks more (see below).
    setup.settle()
    try:
        # The functions one after the other, as Lambda runs them but for the moment the
        # distributor starts: here never before the writer committed.
        stepped = LambdaEmulator(settings, triggers)
        before = METER.snapshot()
        written = client.set_data_async("/measured", b"after")
        for trigger in (writer, distributor):
            assert stepped.poll(trigger, wait=5), f"no message reached {trigger.function}"
        assert written.get(10).stat.version == 1
        counted = difference(METER.snapshot(), before)
    finally:
        with LambdaEmulator(settings, triggers):
            client.stop()
    assert ("dynamodb", "TransactWriteItems") not in counted, f"a set_data needs no transaction: {counted}"
    # The writer reads no session (the request carries the session's lease from its registration;
    # a redelivered one would read it, and the node's ancestors, where a deleted node's marks go);
    # the distributor reads no node, and finds no watch.
    assert ("dynamodb", "GetItem") not in counted, counted
    assert counted[("dynamodb", "Query")] == 1, counted
    # The writer's lock and commit and the distributor's claim; key-value user storage adds its PutItem.
    assert counted[("dynamodb", "UpdateItem")] == 3, counted
    units = billable_units(counted)
    user_writes = 1 if storage == "key-value" else 0
    assert units.dynamodb_wru == UPSTREAM_WRITE.dynamodb_wru + user_writes == 3 + user_writes, counted
    assert units.s3_put == (1 if storage == "persistent" else 0)
    assert counted[("sqs", "SendMessage")] == 2
    assert counted[("lambda", "Invoke")] == 2


def test_a_create_and_a_delete_write_no_session_item(stackless: Callable[..., Config]) -> None:
    config = stackless(storage="persistent", channel="tcp", heartbeat=60, session_timeout=180)
    requests = measure_operations(config, repetitions=2, functions="local").requests
    for write in ("create", "delete"):
        counted = requests[write]
        # One transaction over the node and its parent: the session's progress is marked on the parent.
        assert counted[("dynamodb", "TransactWriteItems")] == 1, (write, counted)
        assert counted[("dynamodb", "TransactWriteItems.items")] == 2, (write, counted)
