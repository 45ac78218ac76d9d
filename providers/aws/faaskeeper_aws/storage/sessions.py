"""The sessions and watches tables of the DynamoDB system storage.

Sessions table (key ``session_id``): one item per session, each SessionRecord field as its own
attribute (strings ``S``, numbers ``N``, ``heartbeat`` ``BOOL``), ``last_outcome`` as a JSON
string present only while a failed request's reply is kept.

The sessions table also holds the records of ended sessions whose client queues may still
exist (:mod:`faaskeeper_aws.storage.session_ends`); they are no sessions.

Watches table (key ``path``, sort key ``watch`` = ``kind#session``): one item per
(path, kind, session) with ``kind``, ``session_id``, ``counter`` (N) and ``address``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from botocore.exceptions import ClientError

from faaskeeper.api.storage import SessionRecord, SessionStatus, WatchKind, WatchRecord
from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.errors import aws_errors
from faaskeeper_aws.storage.dynamodb import (
    ATTEMPTS,
    Item,
    N,
    S,
    as_float,
    as_int,
    batch_delete,
    expression,
    is_condition_failure,
    old_item,
    scan,
)
from faaskeeper_aws.storage.session_ends import ENDED, SessionEnds

#: Attribute aliases of the sessions and watches tables' expressions.
SESSION_NAMES = {
    "sid": "session_id",
    "seq": "last_seq",
    "outcome": "last_outcome",
    "silent": "silent_since",
    "status": "status",
    "ended_at": "ended_at",
    "path": "path",
    "watch": "watch",
    "kind": "kind",
    "session": "session_id",
    "counter": "counter",
    "address": "address",
    "ended": ENDED,
}

#: SessionRecord's fields by the DynamoDB type they are stored as (``last_outcome`` aside).
_SESSION_TYPES = {f.name: str(f.type) for f in fields(SessionRecord) if f.name != "last_outcome"}
if not set(_SESSION_TYPES.values()) <= {"str", "bool", "int", "float"}:  # a new field needs a mapping here
    raise TypeError(f"SessionRecord has fields this module cannot store: {_SESSION_TYPES}")


def _session_item(session: SessionRecord) -> Item:
    item: Item = {}
    for name, kind in _SESSION_TYPES.items():
        value = getattr(session, name)
        if kind == "bool":
            item[name] = {"BOOL": bool(value)}
        elif kind in ("int", "float"):
            item[name] = N(value)
        else:
            item[name] = S(str(value))
    if session.last_outcome is not None:
        item["last_outcome"] = S(json.dumps(session.last_outcome))
    return item


def _session(item: Item) -> SessionRecord:
    values: dict[str, Any] = {}
    for name, kind in _SESSION_TYPES.items():
        if name not in item:
            continue
        value = item[name]
        values[name] = (
            bool(value["BOOL"])
            if kind == "bool"
            else as_int(value)
            if kind == "int"
            else as_float(value)
            if kind == "float"
            else value["S"]
        )
    outcome = item.get("last_outcome")
    values["last_outcome"] = json.loads(outcome["S"]) if outcome else None
    return SessionRecord(**values)


def _watch_key(path: str, kind: WatchKind, session_id: str) -> Item:
    return {"path": S(path), "watch": S(f"{kind.value}#{session_id}")}


def _watch(item: Item) -> WatchRecord:
    return WatchRecord(
        path=item["path"]["S"],
        kind=WatchKind(item["kind"]["S"]),
        session_id=item["session_id"]["S"],
        counter=as_int(item["counter"]),
        address=item.get("address", {}).get("S", ""),
    )


class SessionTables(SessionEnds):
    """Sessions and watches; mixed into DynamoDbSystemStorage."""

    # -- sessions ------------------------------------------------------------------------

    def _update_session(self, session_id: str, update: str, condition: str, values: Item) -> bool:
        """A conditional UpdateItem of a session; False when the condition does not hold."""
        with aws_errors("update session"):
            try:
                self._ddb.update_item(
                    TableName=self._names.sessions_table,
                    Key={"session_id": S(session_id)},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=expression(SESSION_NAMES, update, condition),
                    **({"ExpressionAttributeValues": values} if values else {}),
                )
            except ClientError as err:
                if is_condition_failure(err):
                    return False
                raise
        return True

    def create_session(self, session: SessionRecord) -> bool:
        with aws_errors("create session"):
            try:
                self._ddb.put_item(
                    TableName=self._names.sessions_table,
                    Item=_session_item(session),
                    ConditionExpression="attribute_not_exists(#sid)",
                    ExpressionAttributeNames=expression(SESSION_NAMES, "#sid"),
                )
            except ClientError as err:
                if is_condition_failure(err):
                    return False
                raise
        return True

    def read_session(self, session_id: str) -> SessionRecord | None:
        with aws_errors("read session"):
            response = self._ddb.get_item(
                TableName=self._names.sessions_table, Key={"session_id": S(session_id)}, ConsistentRead=True
            )
        item = response.get("Item")
        return _session(item) if item and ENDED not in item else None

    def record_outcome(self, session_id: str, seq: int, outcome: dict[str, Any]) -> bool:
        return self._update_session(
            session_id,
            "SET #seq = :seq, #outcome = :outcome",
            "#seq < :seq",
            {":seq": N(seq), ":outcome": S(json.dumps(outcome))},
        )

    def touch_session(self, session_id: str, silent_since: float) -> None:
        self._update_session(
            session_id, "SET #silent = :silent", "attribute_exists(#sid)", {":silent": N(silent_since)}
        )

    def end_session(self, session_id: str, ended_at: float) -> SessionRecord | None:
        update, condition = "SET #status = :ending, #ended_at = :at", "#status = :active"
        values = {
            ":ending": S(SessionStatus.ENDING.value),
            ":at": N(ended_at),
            ":active": S(SessionStatus.ACTIVE.value),
        }
        with aws_errors("end session"):
            try:
                response = self._ddb.update_item(
                    TableName=self._names.sessions_table,
                    Key={"session_id": S(session_id)},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames=expression(SESSION_NAMES, update, condition),
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            except ClientError as err:
                if not is_condition_failure(err):
                    raise
                ended = self.read_session(session_id)  # ended already, or gone
            else:
                ended = _session(response["Attributes"])
        if ended is not None and not ended.active and self._records_ends:
            # Once, and again by a redelivery that finds the session ended before it could.
            self._record_end(session_id, ended.channel)
        return ended

    def drain_session(self, session_id: str) -> None:
        self._update_session(
            session_id,
            "SET #status = :drained",
            "#status = :ending",
            {":drained": S(SessionStatus.DRAINED.value), ":ending": S(SessionStatus.ENDING.value)},
        )

    def delete_session(self, session_id: str) -> None:
        with aws_errors("delete session"):
            self._ddb.delete_item(TableName=self._names.sessions_table, Key={"session_id": S(session_id)})

    def list_sessions(self) -> list[SessionRecord]:
        sessions_only = "attribute_not_exists(#ended)"
        pages = scan(
            self._ddb,
            "list sessions",
            TableName=self._names.sessions_table,
            FilterExpression=sessions_only,
            ExpressionAttributeNames=expression(SESSION_NAMES, sessions_only),
        )
        found = [_session(item) for page in pages for item in page.get("Items", [])]
        return sorted(found, key=lambda s: s.session_id)

    # -- watches -------------------------------------------------------------------------

    def store_watch(self, watch: WatchRecord) -> None:
        """The watch's item: one per (path, kind, session), the larger counter wins."""
        key = _watch_key(watch.path, watch.kind, watch.session_id)
        values = {
            ":counter": N(watch.counter),
            ":address": S(watch.address),
            ":session": S(watch.session_id),
            ":kind": S(watch.kind.value),
        }
        upsert = "SET #counter = :counter, #address = :address, #session = :session, #kind = :kind"
        larger = "attribute_not_exists(#counter) OR #counter <= :counter"
        for _attempt in range(ATTEMPTS):
            with aws_errors("add watch"):
                if self._put_watch(key, upsert, larger, values):
                    return
        raise ProviderException(f"AWS add watch failed: {watch.path} kept changing")

    def _put_watch(self, key: Item, upsert: str, larger: str, values: Item) -> bool:
        """One attempt of add_watch: True when done, False when the watch changed meanwhile."""
        try:
            self._ddb.update_item(
                TableName=self._names.watches_table,
                Key=key,
                UpdateExpression=upsert,
                ConditionExpression=larger,
                ExpressionAttributeNames=expression(SESSION_NAMES, upsert, larger),
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return True
        except ClientError as err:
            if not is_condition_failure(err):
                raise
            stored = old_item(err)
        if stored is not None and stored.get("address", {}).get("S") == values[":address"]["S"]:
            return True  # a larger counter is stored, with this address already
        # The larger counter wins, but the address is the latest one (as in the local provider).
        keep = "#counter > :counter"
        try:
            self._ddb.update_item(
                TableName=self._names.watches_table,
                Key=key,
                UpdateExpression="SET #address = :address",
                ConditionExpression=keep,
                ExpressionAttributeNames=expression(SESSION_NAMES, "#address", keep),
                ExpressionAttributeValues={":address": values[":address"], ":counter": values[":counter"]},
            )
        except ClientError as err:
            if not is_condition_failure(err):
                raise
            return False
        return True

    def triggered_watches(self, path: str, kinds: Sequence[WatchKind], txn: int) -> list[WatchRecord]:
        if not kinds:
            return []
        values: Item = {":path": S(path), ":txn": N(txn)}
        marks = []
        for index, kind in enumerate(dict.fromkeys(kinds)):
            values[f":k{index}"] = S(kind.value)
            marks.append(f":k{index}")
        key_condition = "#path = :path"
        filter_expression = f"#counter < :txn AND #kind IN ({', '.join(marks)})"
        pages = scan(
            self._ddb,
            "find triggered watches",
            query=True,
            TableName=self._names.watches_table,
            KeyConditionExpression=key_condition,
            FilterExpression=filter_expression,
            ExpressionAttributeNames=expression(SESSION_NAMES, key_condition, filter_expression),
            ExpressionAttributeValues=values,
        )
        return [_watch(item) for page in pages for item in page.get("Items", [])]

    def remove_watches(self, watches: Sequence[WatchRecord]) -> None:
        # Each delete is conditional on its own counter; a batch adds no guarantee to that.
        condition = "#counter = :counter"
        for watch in watches:
            with aws_errors("remove watch"):
                try:
                    self._ddb.delete_item(
                        TableName=self._names.watches_table,
                        Key=_watch_key(watch.path, watch.kind, watch.session_id),
                        ConditionExpression=condition,
                        ExpressionAttributeNames=expression(SESSION_NAMES, condition),
                        ExpressionAttributeValues={":counter": N(watch.counter)},
                    )
                except ClientError as err:
                    if not is_condition_failure(err):
                        raise

    def remove_session_watches(self, session_id: str) -> None:
        # No index by session (it would double the cost of every add_watch): a consistent Scan,
        # which only session ends pay.
        condition = "#session = :session"
        pages = scan(
            self._ddb,
            "find session watches",
            TableName=self._names.watches_table,
            FilterExpression=condition,
            ProjectionExpression="#path, #watch",
            ExpressionAttributeNames=expression(SESSION_NAMES, condition, "#path, #watch"),
            ExpressionAttributeValues={":session": S(session_id)},
        )
        keys = [item for page in pages for item in page.get("Items", [])]
        with aws_errors("remove session watches"):
            batch_delete(self._ddb, self._names.watches_table, keys)

    def count_watches(self) -> int:
        pages = scan(self._ddb, "count watches", TableName=self._names.watches_table, Select="COUNT")
        return sum(int(page.get("Count", 0)) for page in pages)
