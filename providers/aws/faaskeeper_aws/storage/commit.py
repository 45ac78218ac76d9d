"""Commits and claimed transactions of the DynamoDB system storage (see
:mod:`faaskeeper_aws.storage.nodes` for the item layout)."""

from __future__ import annotations

from collections.abc import Sequence

from faaskeeper.api.claims import claim_node
from faaskeeper.api.storage import Claim, Commit, WatchTally
from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.storage.dynamodb import (
    ATTEMPTS,
    REASON_CONDITION,
    REASON_CONFLICT,
    Item,
    N,
    S,
    backoff,
    codes,
    expression,
    transact,
    unexpected,
)
from faaskeeper_aws.storage.nodes import (
    FALSE,
    NAMES,
    TRUE,
    NodeTable,
    mark_name,
    node_from_item,
    owner_key,
    state_json,
)
from faaskeeper_aws.storage.tallies import tally_of

#: Still needed after the claimed transaction's entry is removed: live, locked or more pending.
_KEEP = "(#live = :true OR attribute_exists(#token) OR size(#pending) > :one)"
#: No later transaction claimed: claiming an older one must not move ``claimed`` back.
_NOT_SUPERSEDED = "(attribute_not_exists(#claimed) OR #claimed < :txn)"
_DROP = "#live = :false AND attribute_not_exists(#token) AND size(#pending) = :one AND #pending[0] = :txn"


class NodeCommits(NodeTable):
    """Commit: every node of the commit gets ``SET state, live, pending = list_append(pending,
    [txn]) REMOVE lock_token, lock_ts`` if ``lock_token = :token``; the node the request is
    recorded on also gets ``SET req#<session> = [seq, timestamp]`` for the request and for each
    mark a deleted node hands on, and ``REMOVE req#<forgotten>...``.
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
            if update.created:
                sets += ", #count = :zero, #settled = :zero"
                values[":zero"] = N(0)
            if update.path == commit.record_path:
                for i, (session_id, mark) in enumerate(sorted(commit.inherited.items())):
                    if commit.request_seq is not None and session_id == commit.session_id:
                        continue  # the request's own mark is later
                    marks[f"inherit{i}"] = mark_name(session_id)
                    sets += f", #inherit{i} = :inherit{i}"
                    values[f":inherit{i}"] = {"L": [N(mark.seq), N(mark.timestamp)]}
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

    # -- claiming transactions -------------------------------------------------------------

    def claim_transaction(self, paths: Sequence[str], txn: int) -> Claim | None:
        """One conditional write per path, the deciding (last) one first, rather than a
        transaction, which bills twice per item. Each write first assumes ``txn`` is first in the
        pending list and the node stays; when that condition fails, the item it returns decides
        (:func:`faaskeeper.api.claims.claim_node`) and plans the exact write. A write that
        updates the item returns it, with its watch tally."""
        tallies: dict[str, WatchTally] = {}
        for path in dict.fromkeys(reversed(paths)):
            claimed = self._claim_path(path, txn, deciding=path == paths[-1])
            if claimed is None:
                return None
            if claimed:
                tallies[path] = tally_of(claimed)
        return Claim(tallies)

    def _claim_path(self, path: str, txn: int, *, deciding: bool) -> Item | None:
        """The claim on one path: None if it fails; else the item as the claim left it, or {}
        where it wrote nothing or dropped the item."""
        known: Item | None = None  # the item as the last failed write saw it ({}: absent); None: not seen
        for _ in range(ATTEMPTS):
            method, index = "update_item", 0
            if known is not None:
                node = node_from_item(known) if known else None
                holds, after = claim_node(node, txn, deciding=deciding)
                if not holds:
                    return None
                if after is node:
                    return {}
                assert node is not None
                method, index = ("delete_item", 0) if after is None else ("update_item", node.pending.index(txn))
            params = self._claim_params(path, txn, index, drop=method == "delete_item")
            done, response = self._call(method, "claim transaction", **params)
            if done:
                attributes: Item = response.get("Attributes", {})
                return attributes
            known = response
        raise ProviderException(f"AWS claim of transaction {txn} on {path} failed: the node kept changing")

    def _claim_params(self, path: str, txn: int, index: int, *, drop: bool) -> Item:
        values: Item = {":txn": N(txn), ":one": N(1)}
        key = {"path": S(path)}
        if drop:
            values[":false"] = FALSE
            return self._params(key, None, _DROP, values)
        values[":true"] = TRUE
        condition = f"#pending[{index}] = :txn AND {_KEEP} AND {_NOT_SUPERSEDED}"
        params = self._params(key, f"SET #claimed = :txn REMOVE #pending[{index}]", condition, values)
        params["ReturnValues"] = "ALL_NEW"
        return params

    @staticmethod
    def _params(key: Item, update: str | None, condition: str, values: Item) -> Item:
        params: Item = {"Key": key, "ConditionExpression": condition, "ExpressionAttributeValues": values}
        if update is not None:
            params["UpdateExpression"] = update
        return params
