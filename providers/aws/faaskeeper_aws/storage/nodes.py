"""The nodes table of the DynamoDB system storage: item layout and conditional calls.

Nodes table (key ``path``), one item per node, tombstone or placeholder:

* ``live`` (BOOL): the node exists (False for a tombstone or a lock placeholder);
* ``state`` (S): the NodeState's stat and children as JSON;
* ``lock_token`` (S) and ``lock_ts`` (N, seconds as the shortest exact decimal of the float):
  present only while locked;
* ``pending`` (L of N): the transactions committed and not yet claimed by the distributor, in
  commit order;
* ``claimed`` (N): the last transaction the distributor claimed on the node;
* ``req#<session>`` (L of N: sequence number, seconds): the last request of that session
  committed on this node, while it may still be redelivered (see ``Commit``).

Ephemeral ownership index, in the same table under keys that are never node paths
(``ephemeral#<session>``): ``paths`` (SS). The commit creating an ephemeral node ADDs its path
to its owner's item (the owner of the stat, whichever session commits), the commit deleting it
DELETEs it, both in the same transaction as the nodes, so the index holds every existing
ephemeral node of its owner (ZooKeeper sets the owner at creation and never changes it). It may
hold more (a commit creating and deleting nodes of one owner can only ADD), so
``ephemeral_nodes`` keeps only the candidates whose items, read consistently, are live and owned.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from faaskeeper.api.storage import Lock, NodeState, RequestMark, SystemNode
from faaskeeper.config import ClientChannel
from faaskeeper.node import Stat
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.settings import AwsSettings
from faaskeeper_aws.storage.dynamodb import (
    Item,
    S,
    as_float,
    as_int,
    dynamodb,
    expression,
    is_condition_failure,
    old_item,
)
from faaskeeper_aws.storage.sessions import SessionTables

NAMES = {
    "path": "path",
    "live": "live",
    "state": "state",
    "token": "lock_token",
    "ts": "lock_ts",
    "pending": "pending",
    "claimed": "claimed",
    "paths": "paths",
    "count": "watch_count",
    "settled": "watch_settled",
}
EPHEMERAL_PREFIX = "ephemeral#"
#: Attribute name prefix of a session's request mark.
MARK_PREFIX = "req#"
FALSE = {"BOOL": False}
TRUE = {"BOOL": True}


def state_json(state: NodeState) -> str:
    return json.dumps({"stat": state.stat.to_dict(), "children": list(state.children)}, separators=(",", ":"))


def node_from_item(item: Item) -> SystemNode:
    state = json.loads(item["state"]["S"])
    lock = Lock(item["lock_token"]["S"], as_float(item["lock_ts"])) if "lock_token" in item else None
    return SystemNode(
        path=item["path"]["S"],
        state=NodeState(bool(item["live"]["BOOL"]), Stat.from_dict(state["stat"]), tuple(state["children"])),
        lock=lock,
        pending=tuple(as_int(t) for t in item.get("pending", {}).get("L", [])),
        requests={
            name.removeprefix(MARK_PREFIX): RequestMark(as_int(value["L"][0]), as_float(value["L"][1]))
            for name, value in item.items()
            if name.startswith(MARK_PREFIX)
        },
        claimed=as_int(item["claimed"]) if "claimed" in item else 0,
    )


def mark_name(session_id: str) -> str:
    return MARK_PREFIX + session_id


def owner_key(session_id: str) -> Item:
    return {"path": S(EPHEMERAL_PREFIX + session_id)}


class NodeTable(SessionTables):
    """The clients and tables of the system storage, and one conditional call on the nodes table."""

    def __init__(self, settings: AwsSettings) -> None:
        self._ddb = dynamodb(settings)
        self._names = settings.names
        self._table = settings.names.nodes_table
        self._records_ends = settings.client_channel is ClientChannel.SQS

    def _call(self, method: str, action: str, **params: Any) -> tuple[bool, Item]:
        """One conditional call on the nodes table: ``(True, response)``, or ``(False, item)``
        with the item as it was (``{}`` if absent) when the condition failed. The ``#aliases``
        of the expressions are resolved here, unless ``ExpressionAttributeNames`` is given."""
        if "ExpressionAttributeNames" not in params:
            aliases = expression(NAMES, params.get("UpdateExpression"), params.get("ConditionExpression"))
            if aliases:
                params["ExpressionAttributeNames"] = aliases
        with aws_errors(action):
            try:
                response: Item = getattr(self._ddb, method)(
                    TableName=self._table, ReturnValuesOnConditionCheckFailure="ALL_OLD", **params
                )
            except ClientError as err:
                if not is_condition_failure(err):
                    raise
                return False, old_item(err) or {}
        return True, response
