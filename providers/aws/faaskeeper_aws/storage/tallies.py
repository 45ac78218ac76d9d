"""Watch tallies on the node items of the DynamoDB system storage (see
:class:`faaskeeper.api.storage.WatchTally`).

* ``watch_count`` (N): data and exists watches ever counted on the node; a registration ADDs 1
  to a live node's item and reads back, in the same UpdateItem, the last claimed transaction;
* ``watch_settled`` (N): ``watch_count`` when the distributor last found none of them stored.
  A created node's commit sets both to 0 (no data or exists watch can be stored on a node that
  does not exist). An item without them was never settled and is looked up: watches stored on it
  by functions and clients from before there were tallies are found by its first write since.

A claim of a transaction is an UpdateItem returning the item as it left it, so it reads the
tally in the same atomic step; a set_data whose claim finds the tally quiet makes no Query of
the watches table. A registration costs one more write; a write on an unwatched node one read
less.
"""

from __future__ import annotations

from faaskeeper.api.storage import NO_NODE, WatchKind, WatchRecord, WatchTally
from faaskeeper_aws.storage.dynamodb import Item, N, S, as_int
from faaskeeper_aws.storage.nodes import NAMES, TRUE, NodeTable

COUNT, SETTLED = NAMES["count"], NAMES["settled"]
#: The ``settled`` of a tally never settled: never quiet.
NEVER_SETTLED = -1


def tally_of(item: Item) -> WatchTally:
    """The watch tally of a node item."""
    return WatchTally(
        registered=as_int(item[COUNT]) if COUNT in item else 0,
        settled=as_int(item[SETTLED]) if SETTLED in item else NEVER_SETTLED,
    )


class WatchTallies(NodeTable):
    def count_watch(self, watch: WatchRecord) -> int | None:
        """Count a stored data or exists watch in its live node's tally: the last transaction
        claimed on the node before; None for a children watch or a node that is not live."""
        if watch.kind is WatchKind.CHILDREN or watch.counter == NO_NODE:
            return None
        done, response = self._call(
            "update_item",
            "count watch",
            Key={"path": S(watch.path)},
            UpdateExpression="ADD #count :one",
            ConditionExpression="#live = :true",
            ExpressionAttributeValues={":one": N(1), ":true": TRUE},
            ReturnValues="ALL_NEW",
        )
        if not done:
            return None
        item = response["Attributes"]
        return as_int(item["claimed"]) if "claimed" in item else 0

    def settle_watches(self, path: str, registered: int) -> None:
        condition = "#count = :count"
        if registered == 0:
            condition = f"attribute_exists(#live) AND (attribute_not_exists(#count) OR {condition})"
        self._call(
            "update_item",
            "settle watches",
            Key={"path": S(path)},
            UpdateExpression="SET #settled = :count, #count = :count",
            ConditionExpression=condition,
            ExpressionAttributeValues={":count": N(registered)},
        )
