"""System storage in DynamoDB: node items with locks and pending transactions, sessions, watches.

The item layouts are described in :mod:`~faaskeeper_aws.storage.nodes` (nodes and the
ephemeral index) and :mod:`~faaskeeper_aws.storage.sessions` (sessions, watches); commits and
finished transactions are in :mod:`~faaskeeper_aws.storage.commit`; watch tallies in
:mod:`~faaskeeper_aws.storage.tallies`.

Locking is one conditional UpdateItem that also creates a placeholder and returns the item:
``SET lock_token, lock_ts (+ placeholder attributes if_not_exists)`` if
``attribute_not_exists(lock_token) OR lock_ts < :timestamp - max_hold``.

The deployment's session lease key (:mod:`faaskeeper.protocol.leases`) is the item ``#lease-key``
of the nodes table (``key``: binary), made with the root node; a function reads it once.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from faaskeeper.api.storage import Lock, NodeState, SystemNode, SystemStorage, WatchRecord
from faaskeeper.protocol.leases import new_key
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.storage.commit import NodeCommits
from faaskeeper_aws.storage.dynamodb import N, S, as_float, batch_get, is_condition_failure, scan
from faaskeeper_aws.storage.nodes import FALSE, NAMES, TRUE, node_from_item, owner_key, state_json
from faaskeeper_aws.storage.tallies import WatchTallies

_LEASE_KEY = {"path": S("#lease-key")}


class DynamoDbSystemStorage(NodeCommits, WatchTallies, SystemStorage):
    def add_watch(self, watch: WatchRecord) -> int | None:
        """Store the watch, then count it in its node's tally."""
        self.store_watch(watch)
        return self.count_watch(watch)

    def ensure_root(self) -> None:
        """Create the root node and the lease key, each unless it exists."""
        root = {"path": S("/"), "live": TRUE, "state": S(state_json(NodeState(True))), "pending": {"L": []}}
        self._put_once(root, "create the root node")
        self._put_once({**_LEASE_KEY, "key": {"B": new_key()}}, "create the lease key")

    def _put_once(self, item: dict[str, object], what: str) -> None:
        with aws_errors(what):
            try:
                self._ddb.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(#path)",
                    ExpressionAttributeNames={"#path": "path"},
                )
            except ClientError as err:
                if not is_condition_failure(err):
                    raise

    def lease_key(self) -> bytes | None:
        """The deployment's lease key; None for a deployment made before there were leases."""
        with aws_errors("read the lease key"):
            item = self._ddb.get_item(TableName=self._table, Key=_LEASE_KEY, ConsistentRead=True).get("Item")
        return bytes(item["key"]["B"]) if item else None

    # -- locks ---------------------------------------------------------------------------

    def lock_node(self, path: str, lock: Lock, max_hold: float) -> SystemNode | None:
        result = self._call(
            "update_item",
            "lock node",
            Key={"path": S(path)},
            UpdateExpression="SET #token = :token, #ts = :ts, #live = if_not_exists(#live, :false), "
            "#state = if_not_exists(#state, :state), #pending = if_not_exists(#pending, :none)",
            ConditionExpression="attribute_not_exists(#token) OR #ts < :expiry",
            ExpressionAttributeValues={
                ":token": S(lock.token),
                ":ts": N(lock.timestamp),
                ":expiry": N(lock.timestamp - max_hold),
                ":false": FALSE,
                ":state": S(state_json(NodeState(False))),
                ":none": {"L": []},
            },
            ReturnValues="ALL_NEW",
        )
        done, item = result
        if done:
            return node_from_item(item["Attributes"])
        if item.get("lock_token") == S(lock.token) and as_float(item["lock_ts"]) == lock.timestamp:
            return node_from_item(item)  # our own lock: botocore retried a request that had succeeded
        return None

    def unlock_node(self, path: str, lock: Lock) -> None:
        values = {":token": S(lock.token), ":false": FALSE, ":zero": N(0)}
        dropped, item = self._call(
            "delete_item",
            "unlock node",
            Key={"path": S(path)},
            ConditionExpression="#token = :token AND #live = :false AND size(#pending) = :zero",
            ExpressionAttributeValues=values,
        )
        if dropped or item.get("lock_token") != values[":token"]:
            return  # a placeholder dropped, or a lock that is not ours (any more)
        self._call(
            "update_item",
            "unlock node",
            Key={"path": S(path)},
            UpdateExpression="REMOVE #token, #ts",
            ConditionExpression="#token = :token",
            ExpressionAttributeValues={":token": values[":token"]},
        )

    def read_node(self, path: str) -> SystemNode | None:
        with aws_errors("read node"):
            item = self._ddb.get_item(TableName=self._table, Key={"path": S(path)}, ConsistentRead=True).get("Item")
        return node_from_item(item) if item else None

    # -- queries -------------------------------------------------------------------------

    def ephemeral_nodes(self, session_id: str) -> list[str]:
        with aws_errors("find ephemeral nodes"):
            index = self._ddb.get_item(TableName=self._table, Key=owner_key(session_id), ConsistentRead=True)
            candidates = index.get("Item", {}).get("paths", {}).get("SS", [])
            items = batch_get(self._ddb, self._table, [{"path": S(p)} for p in candidates], names=NAMES)
        owned = [node_from_item(item) for item in items]
        return sorted(n.path for n in owned if n.exists and n.state.stat.ephemeral_owner == session_id)

    def count_nodes(self) -> int:
        pages = scan(
            self._ddb,
            "count nodes",
            TableName=self._table,
            Select="COUNT",
            FilterExpression="#live = :true",
            ExpressionAttributeNames={"#live": "live"},
            ExpressionAttributeValues={":true": TRUE},
        )
        return sum(int(page.get("Count", 0)) for page in pages)

    def delete_session(self, session_id: str) -> None:
        super().delete_session(session_id)
        # Drop the session's ephemeral index once it is empty (DynamoDB removes an emptied set).
        self._call(
            "delete_item",
            "delete session",
            Key=owner_key(session_id),
            ConditionExpression="attribute_not_exists(#paths)",
        )
