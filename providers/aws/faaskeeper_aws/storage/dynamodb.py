"""Helpers shared by the DynamoDB storages: attribute values, expressions, batches, transactions.

They use the low-level client (attribute values as ``{"S": ...}``, ``{"N": ...}``), so numbers
travel as decimal strings and nothing is ever rounded through a float or a Decimal context.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from faaskeeper.exceptions import ProviderException
from faaskeeper_aws.cost.metering import MeteredClient
from faaskeeper_aws.errors import aws_errors, error_code
from faaskeeper_aws.settings import AwsSettings

Item = dict[str, Any]

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"
TRANSACTION_CONFLICT = "TransactionConflictException"
#: Per-item codes in a cancelled transaction's CancellationReasons.
REASON_CONDITION = "ConditionalCheckFailed"
REASON_CONFLICT = "TransactionConflict"
#: Attempts of an operation that lost a race (a conflicting transaction, a changed condition).
ATTEMPTS = 12
_BATCH_GET = 100


class DynamoDbClient(MeteredClient):
    """The metered DynamoDB client. A single-item write refused because a transaction is
    writing the item (TransactionConflictException, which botocore does not retry) is retried."""

    def __getattr__(self, name: str) -> Any:
        call = super().__getattr__(name)
        if name not in self._operations:
            return call

        def retrying(**params: Any) -> Any:
            for attempt in range(ATTEMPTS):
                try:
                    return call(**params)
                except ClientError as err:
                    if error_code(err) != TRANSACTION_CONFLICT or attempt == ATTEMPTS - 1:
                        raise
                backoff(attempt)
            raise AssertionError("unreachable")

        return retrying


def dynamodb(settings: AwsSettings) -> DynamoDbClient:
    return DynamoDbClient(settings.client("dynamodb"), "dynamodb")


def number(value: float) -> str:
    """``value`` as a DynamoDB number: the shortest decimal that reads back as the same float."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a number")
    if isinstance(value, int):
        return str(value)
    text = repr(float(value))
    if "e" in text or "n" in text:  # exponent, inf, nan
        decimal = Decimal(text)
        if not decimal.is_finite():
            raise ValueError(f"DynamoDB cannot store {value!r}")
        text = format(decimal, "f")
    return text


def N(value: float) -> dict[str, str]:  # named after the DynamoDB type
    return {"N": number(value)}


def S(value: str) -> dict[str, str]:
    return {"S": value}


def as_int(value: Mapping[str, str]) -> int:
    return int(value["N"])


def as_float(value: Mapping[str, str]) -> float:
    return float(value["N"])


_ALIAS = re.compile(r"#([A-Za-z_][A-Za-z0-9_]*)")


def expression(names: Mapping[str, str], *expressions: str | None) -> dict[str, str]:
    """The ExpressionAttributeNames for the ``#alias`` tokens used in ``expressions``.

    ``names`` maps an alias (without ``#``) to its attribute; DynamoDB refuses unused aliases,
    so only those that occur are returned.
    """
    used = {alias for text in expressions if text for alias in _ALIAS.findall(text)}
    return {f"#{alias}": names[alias] for alias in sorted(used)}


def is_condition_failure(err: ClientError) -> bool:
    return error_code(err) == CONDITION_FAILED


def old_item(err: ClientError) -> Item | None:
    """The item returned by ReturnValuesOnConditionCheckFailure=ALL_OLD, if there was one."""
    item = err.response.get("Item")
    return item if isinstance(item, dict) and item else None


def cancellation_reasons(err: ClientError) -> list[dict[str, Any]]:
    """Per transaction item: ``{"Code": ..., "Item": ...}`` ("None" for items that passed)."""
    reasons = err.response.get("CancellationReasons")
    if not isinstance(reasons, list):
        raise ProviderException(f"DynamoDB cancelled a transaction without reasons: {err}") from err
    return [r if isinstance(r, dict) else {} for r in reasons]


def backoff(attempt: int) -> None:
    time.sleep(min(0.005 * 2**attempt, 0.2))


def transact(ddb: MeteredClient, actions: Sequence[Item]) -> list[dict[str, Any]] | None:
    """Run ``actions`` as one TransactWriteItems; None if it committed, else the cancellation
    reasons (one per action). A client token makes botocore's own retries idempotent."""
    try:
        ddb.transact_write_items(TransactItems=list(actions), ClientRequestToken=uuid.uuid4().hex)
    except ClientError as err:
        if error_code(err) != TRANSACTION_CANCELED:
            raise
        return cancellation_reasons(err)
    return None


def codes(reasons: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(r.get("Code", "None")) for r in reasons]


def unexpected(reasons: Sequence[Mapping[str, Any]], action: str) -> ProviderException:
    return ProviderException(f"AWS {action} failed: transaction cancelled: {', '.join(codes(reasons))}")


def batch_get(
    ddb: MeteredClient, table: str, keys: Sequence[Item], *, projection: str | None = None, names: Mapping[str, str]
) -> list[Item]:
    """The items found for ``keys`` (strongly consistent; duplicates dropped; any order)."""
    unique: dict[str, Item] = {}
    for key in keys:
        unique.setdefault(repr(sorted(key.items())), key)
    wanted = list(unique.values())
    found: list[Item] = []
    for start in range(0, len(wanted), _BATCH_GET):
        request: Item = {"Keys": wanted[start : start + _BATCH_GET], "ConsistentRead": True}
        if projection is not None:
            request["ProjectionExpression"] = projection
            aliases = expression(names, projection)
            if aliases:
                request["ExpressionAttributeNames"] = aliases
        pending: dict[str, Item] = {table: request}
        for attempt in range(ATTEMPTS * 2):
            response = ddb.batch_get_item(RequestItems=pending)
            found.extend(response.get("Responses", {}).get(table, []))
            pending = response.get("UnprocessedKeys") or {}
            if not pending:
                break
            backoff(attempt)
        else:
            raise ProviderException(f"DynamoDB left keys of {table} unprocessed after {ATTEMPTS * 2} attempts")
    return found


def batch_delete(ddb: MeteredClient, table: str, keys: Sequence[Item]) -> None:
    """Delete ``keys`` with BatchWriteItem (25 per request), retrying unprocessed ones."""
    for start in range(0, len(keys), 25):
        pending: dict[str, Any] = {table: [{"DeleteRequest": {"Key": k}} for k in keys[start : start + 25]]}
        for attempt in range(ATTEMPTS * 2):
            response = ddb.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                break
            backoff(attempt)
        else:
            raise ProviderException(f"DynamoDB left deletes of {table} unprocessed after {ATTEMPTS * 2} attempts")


def scan(ddb: MeteredClient, action: str, **params: Any) -> Iterator[Item]:
    """Every page of a strongly consistent Scan (or Query, with ``query=True`` in ``params``)."""
    operation = ddb.query if params.pop("query", False) else ddb.scan
    start: Item | None = None
    while True:
        with aws_errors(action):
            page = operation(**params, ConsistentRead=True, **({"ExclusiveStartKey": start} if start else {}))
        yield page
        start = page.get("LastEvaluatedKey")
        if not start:
            return
