"""Commits and finished transactions of the DynamoDB system storage (see
:mod:`faaskeeper_aws.dynamodb_nodes` for the item layout)."""

from __future__ import annotations

from collections.abc import Sequence

from faaskeeper.api.storage import Commit
from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.dynamodb_base import (
    ATTEMPTS,
    REASON_CONDITION,
    REASON_CONFLICT,
    Item,
    N,
    S,
    as_int,
    backoff,
    codes,
    expression,
    transact,
    unexpected,
)
from faaskeeper_aws.dynamodb_nodes import FALSE, NAMES, TRUE, NodeTable, mark_name, owner_key, state_json
from faaskeeper_aws.errors import aws_errors

#: Still needed after the finished transaction's entry is removed: live, locked or more pending.
_KEEP = "(#live = :true OR attribute_exists(#token) OR size(#pending) > :one)"
_DROP = "#live = :false AND attribute_not_exists(#token) AND size(#pending) = :one AND #pending[0] = :txn"


class NodeCommits(NodeTable):
    """Commit: every node of the commit gets ``SET state, live, pending = list_append(pending,
    [txn]) REMOVE lock_token, lock_ts`` if ``lock_token = :token``; the node the request is
    recorded on also gets ``SET req#<session> = [seq, timestamp] REMOVE req#<forgotten>...``.
    The ephemeral index items of the owners of created or deleted ephemeral nodes are updated
    with them.

    A commit of one item (a set_data) is one conditional UpdateItem; a commit of several is ONE
    TransactWriteItems, which DynamoDB bills at twice the units per item. A condition failed
    (a lock not held any more): False. A transaction conflict is retried.
    """

    def commit(self, commit: Commit) -> bool:
        nodes = self._commit_nodes(commit)
        owners = self._commit_owners(commit)
        if len(nodes) == 1 and not owners:
            params = {k: v for k, v in nodes[0]["Update"].items() if k != "TableName"}
            done, _item = self._call("update_item", "commit", **params)
            return done
        for attempt in range(ATTEMPTS):
            with aws_errors("commit"):
                reasons = transact(self._ddb, [*nodes, *owners])
            if reasons is None:
                return True
            found = codes(reasons)
            if REASON_CONDITION in found[: len(nodes)]:
                return False  # a lock is not held (any more)
            if REASON_CONFLICT in found:
                backoff(attempt)
            else:
                raise unexpected(reasons, "commit")
        raise ProviderException(f"AWS commit failed: transaction {commit.txn} conflicted {ATTEMPTS} times")

    def _commit_nodes(self, commit: Commit) -> list[Item]:
        """One transaction Update action per node."""
        actions = []
        for update in commit.updates:
            state = update.resolved(commit.txn)
            sets = "#state = :state, #live = :live, #pending = list_append(if_not_exists(#pending, :none), :txn)"
            removes = "#token, #ts"
            values: Item = {
                ":state": S(state_json(state)),
                ":live": {"BOOL": state.exists},
                ":none": {"L": []},
                ":txn": {"L": [N(commit.txn)]},
                ":token": S(commit.lock_token),
            }
            marks: dict[str, str] = {}  # aliases of the request marks' attributes
            if update.path == commit.record_path:
                if commit.request_seq is not None:
                    marks["mark"] = mark_name(commit.session_id)
                    sets += ", #mark = :mark"
                    values[":mark"] = {"L": [N(commit.request_seq), N(commit.timestamp)]}
                for i, session_id in enumerate(commit.forget):
                    marks[f"forget{i}"] = mark_name(session_id)
                    removes += f", #forget{i}"
            update_expression = f"SET {sets} REMOVE {removes}"
            condition = "#token = :token"
            action = {
                "TableName": self._table,
                "Key": {"path": S(update.path)},
                "UpdateExpression": update_expression,
                "ConditionExpression": condition,
                "ExpressionAttributeNames": expression({**NAMES, **marks}, update_expression, condition),
                "ExpressionAttributeValues": values,
            }
            actions.append({"Update": action})
        return actions

    def _commit_owners(self, commit: Commit) -> list[Item]:
        """ADD created ephemeral nodes to their owners' index items, DELETE deleted ones."""
        added: dict[str, set[str]] = {}
        removed: dict[str, set[str]] = {}
        for update in commit.updates:
            owner = update.state.stat.ephemeral_owner
            if owner is None:
                continue
            if not update.state.exists:
                removed.setdefault(owner, set()).add(update.path)
            elif update.created:
                added.setdefault(owner, set()).add(update.path)
        actions = []
        for owner in sorted({*added, *removed}):
            # One action per item: where a commit does both, the index keeps a superset.
            operation, paths = ("ADD", added[owner]) if owner in added else ("DELETE", removed[owner])
            actions.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": owner_key(owner),
                        "UpdateExpression": f"{operation} #paths :paths",
                        "ExpressionAttributeNames": {"#paths": "paths"},
                        "ExpressionAttributeValues": {":paths": {"SS": sorted(paths)}},
                    }
                }
            )
        return actions

    # -- finishing transactions ------------------------------------------------------------

    def finish_transaction(self, paths: Sequence[str], txn: int) -> None:
        """Remove ``txn`` from each path's pending list (deleting a tombstone left with nothing),
        one conditional write per path rather than a transaction, which bills twice per item.

        The first path (the node the write is about) goes last: until it is finished, a
        redelivered event still finds ``txn`` pending there and finishes the rest again. Each
        write first assumes ``txn`` is first in the list and the node stays; when that condition
        fails, the item it returns plans the exact write."""
        for path in reversed(list(dict.fromkeys(paths))):
            self._finish_path(path, txn)

    def _finish_path(self, path: str, txn: int) -> None:
        known: dict[str, Item | None] = {}  # the item as last seen; absent: not read yet
        for _ in range(ATTEMPTS):
            action = self._finish_action(path, txn, known)
            if action is None:
                return
            method, params = action
            done, item = self._call(method, "finish transaction", **params)
            if done:
                return
            known[path] = item or None
        raise ProviderException(f"AWS finish transaction failed: transaction {txn} on {path} kept changing")

    def _finish_action(self, path: str, txn: int, known: dict[str, Item | None]) -> tuple[str, Item] | None:
        values: Item = {":txn": N(txn), ":one": N(1)}
        key = {"path": S(path)}
        if path not in known:
            values[":true"] = TRUE
            condition = f"#pending[0] = :txn AND {_KEEP}"
            return "update_item", self._params(key, "REMOVE #pending[0]", condition, values)
        item = known[path]
        if item is None:
            return None
        pending = [as_int(t) for t in item.get("pending", {}).get("L", [])]
        if txn not in pending:
            return None
        if not item["live"]["BOOL"] and "lock_token" not in item and pending == [txn]:
            values[":false"] = FALSE
            return "delete_item", self._params(key, None, _DROP, values)
        index = pending.index(txn)
        values[":true"] = TRUE
        return "update_item", self._params(
            key, f"REMOVE #pending[{index}]", f"#pending[{index}] = :txn AND {_KEEP}", values
        )

    @staticmethod
    def _params(key: Item, update: str | None, condition: str, values: Item) -> Item:
        params: Item = {"Key": key, "ConditionExpression": condition, "ExpressionAttributeValues": values}
        if update is not None:
            params["UpdateExpression"] = update
        return params
