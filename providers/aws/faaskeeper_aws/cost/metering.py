"""Counting the billable requests the provider makes, for the cost report.

Every AWS call of the storage classes goes through a :class:`MeteredClient`, which adds to a
process-wide :data:`METER`:

* ``(service, Operation)``: one per API call, e.g. ``("dynamodb", "UpdateItem")``,
  ``("s3", "GetObject")``. A call counts once however often botocore retried it (throttled and
  5xx attempts are not billed; a request refused by its condition is, and counts).
* ``(service, "Operation.items")``: for the calls billed per item, the items they carry:
  ``TransactWriteItems`` (2 write units per item up to 1 KB), ``BatchGetItem`` and
  ``BatchWriteItem``.

Units beyond that depend on item sizes (1 KB per write unit, 4 KB per strongly consistent read
unit); a cost report multiplies these counts by a price table. Lambda handlers can take
``METER.snapshot()`` before and after an invocation and log :func:`difference`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from faaskeeper.metering import Meter

#: Operations billed per item, and how to count the items of one call from its parameters.
_ITEMS: dict[str, Callable[[Mapping[str, Any]], int]] = {
    "TransactWriteItems": lambda params: len(params.get("TransactItems", ())),
    "TransactGetItems": lambda params: len(params.get("TransactItems", ())),
    "BatchGetItem": lambda params: sum(len(t.get("Keys", ())) for t in params.get("RequestItems", {}).values()),
    "BatchWriteItem": lambda params: sum(len(r) for r in params.get("RequestItems", {}).values()),
}


#: The process-wide meter every MeteredClient adds to by default.
METER = Meter()


class MeteredClient:
    """A boto3 client whose API calls are counted in ``meter``; everything else passes through.

    ``MeteredClient(settings.client("dynamodb"), "dynamodb").update_item(...)`` calls the
    client's ``update_item`` after counting ``("dynamodb", "UpdateItem")``.
    """

    def __init__(self, client: Any, service: str, meter: Meter = METER) -> None:
        self._client = client
        self._service = service
        self._meter = meter
        self._operations: dict[str, str] = dict(client.meta.method_to_api_mapping)

    @property
    def client(self) -> Any:
        """The wrapped boto3 client (its ``exceptions``, ``meta``, paginators...)."""
        return self._client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        operation = self._operations.get(name)
        if operation is None:
            return attr
        count_items = _ITEMS.get(operation)

        def call(**params: Any) -> Any:
            self._meter.add(self._service, operation)
            if count_items is not None:
                self._meter.add(self._service, f"{operation}.items", count_items(params))
            return attr(**params)

        return call
