"""The requests one write makes on AWS, against the upstream FaaSKeeper's write."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.config import Config
from faaskeeper_aws.measure import measure_operations
from faaskeeper_aws.pricing import UPSTREAM_WRITE, billable_units


@pytest.mark.parametrize("storage", ["persistent", "key-value"])
def test_a_set_data_commits_with_one_conditional_write(stackless: Callable[..., Config], storage: str) -> None:
    config = stackless(storage=storage, channel="tcp", heartbeat=60, session_timeout=180)
    counted = measure_operations(config, repetitions=3, functions="local").requests["set_data"]
    assert ("dynamodb", "TransactWriteItems") not in counted, f"a set_data needs no transaction: {counted}"
    units = billable_units(counted)
    # The writer's lock and commit and the distributor's finish; key-value user storage adds its PutItem.
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
