"""Counting the billable requests the provider makes, for the cost report.

Every Azure SDK client of the provider is made with a ``raw_response_hook`` from here (the Cosmos
DB client in :meth:`~faaskeeper_azure.settings.AzureSettings.cosmos`, the Blob Storage client in
:meth:`~faaskeeper_azure.settings.AzureSettings.blob_service`, every queue client in
:class:`~faaskeeper_azure.queues.StorageQueues`): azure-core calls it with each HTTP response,
retries included, on whichever thread made the request, so it sees the functions' requests and
the client's alike. It adds to the process-wide :data:`METER` (or the meter the client was made
with), keyed ``(service, unit)`` by what Azure bills:

* ``("cosmos", "<operation>")``: one per item request, by what it did: ``ReadItem``,
  ``CreateItem``, ``UpsertItem``, ``ReplaceItem``, ``PatchItem``, ``DeleteItem``, ``Query``,
  ``Batch`` (and ``Batch.items``, its operations); ``metadata`` for reads of the account,
  databases, containers and partition key ranges (the SDK caches them); ``throttled`` for
  answers 429 and 5xx, which Cosmos DB does not bill.
* ``("cosmos", "milli-RU")``: the request units charged, in thousandths (the meter counts whole
  numbers). Against Cosmos DB it is the ``x-ms-request-charge`` header of each response. The
  emulator answers every request with a charge of 1, which is not Cosmos DB's, so there the charge
  is estimated from Azure's documented costs (:func:`estimated_charge`): a point read 1 RU per KB
  read, a write (create, upsert, replace, patch, delete) :data:`WRITE_RU_PER_KB` RU per KB of the
  item, a query :data:`QUERY_RU` RU plus 1 RU per further KB returned, a transactional batch the
  sum of its operations; a refused conditional request (404, 409, 412) 1 RU per operation.
  Index policy, item shape and consistency change the real figures by tens of percent.
* ``("blob", "<operation>")`` and ``("queue", "<operation>")``: one per Storage request, named as
  Azure's billing and logs name the operation (``PutBlob``, ``GetBlob``, ``PutMessage``,
  ``GetMessages``, ``DeleteMessage``...; :func:`storage_operation`). A ``GetMessages`` that
  returned no message counts as ``GetMessages.empty``. Requests that failed with 5xx
  (throttling, server errors) are not billed and not counted.
* ``("functions", "executions")`` and ``("functions", "ms")``, and per function
  ``("functions:<name>", ...)``: counted by the function host for each execution
  (:func:`count_execution`); milliseconds as the Flex Consumption plan bills an on-demand
  instance's activity, each execution at least 1,000 ms and then in steps of 100 ms.

Function handlers can take ``METER.snapshot()`` before and after an invocation and log
:func:`~faaskeeper.metering.difference`.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from faaskeeper.metering import Meter

#: The process-wide meter the provider's clients add to.
METER = Meter()

#: Estimated request units of writing one KB of an item (Azure documents "about 5 to 6" RU for a
#: 1 KB item with the default indexing policy).
WRITE_RU_PER_KB = 5.5
#: Estimated request units of a query within one partition that returns at most 1 KB.
QUERY_RU = 2.3
#: Estimated request units of a request Cosmos DB refused by its condition (missing, exists, changed).
REFUSED_RU = 1.0
#: Billed milliseconds of an execution at least: the Flex Consumption plan's minimum billable
#: execution period ("1,000 ms", Microsoft Learn, "Azure Functions Flex Consumption plan hosting",
#: Billing: https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#billing).
MIN_EXECUTION_MS = 1000
#: Past the minimum, the billed period is rounded up to this many milliseconds (the same page:
#: "rounded up to the nearest 100 ms").
EXECUTION_STEP_MS = 100

_REFUSED = frozenset({404, 409, 412})
_WRITES = {"CreateItem", "UpsertItem", "ReplaceItem", "PatchItem", "DeleteItem"}
_BATCH_READ = "Read"
#: Hosts of a storage account's endpoints in Azure's URL form (``<account>.blob.core.windows.net``);
#: any other host (Azurite) puts the account in the path's first segment.
_ACCOUNT_HOST = re.compile(r"^[^.]+\.(blob|queue|table|dfs)\.")

ResponseHook = Callable[[Any], None]


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _body(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    return b""


def _header(headers: Any, name: str) -> str:
    value = headers.get(name) if headers is not None else None
    return str(value) if value is not None else ""


def cosmos_operation(method: str, path: str, headers: Any) -> str:
    """What a Cosmos DB REST request does, from its method, path and headers."""
    segments = [s for s in path.split("/") if s]
    if len(segments) < 5 or segments[4] != "docs":
        return "metadata"
    if _header(headers, "x-ms-cosmos-is-batch-request").lower() == "true":
        return "Batch"
    if _header(headers, "x-ms-documentdb-isquery").lower() == "true" or (method == "GET" and len(segments) == 5):
        return "Query"
    if method == "POST":
        return "UpsertItem" if _header(headers, "x-ms-documentdb-is-upsert").lower() == "true" else "CreateItem"
    return {"GET": "ReadItem", "PUT": "ReplaceItem", "PATCH": "PatchItem", "DELETE": "DeleteItem"}.get(
        method, "metadata"
    )


def batch_operations(request_body: bytes) -> list[tuple[str, int]]:
    """The operations of a transactional batch's request: (operationType, bytes of its item)."""
    try:
        operations = json.loads(request_body or b"[]")
    except ValueError:
        return []
    if not isinstance(operations, list):
        return []
    found = []
    for operation in operations:
        if isinstance(operation, dict):
            item = operation.get("resourceBody")
            size = len(json.dumps(item, separators=(",", ":"))) if item is not None else 0
            found.append((str(operation.get("operationType", "")), size))
    return found


def estimated_charge(operation: str, status: int, request_body: bytes, response_body: bytes) -> float:
    """Request units Cosmos DB would charge for one request (see the module's docstring)."""
    if status == 429 or status >= 500 or operation == "metadata":
        return 0.0
    if operation == "Batch":
        operations = batch_operations(request_body)
        if status in _REFUSED or status >= 400:
            return REFUSED_RU * len(operations)
        return sum(_kb(size) * (1.0 if kind == _BATCH_READ else WRITE_RU_PER_KB) for kind, size in operations)
    if status in _REFUSED:
        return REFUSED_RU
    if operation == "ReadItem":
        return float(_kb(len(response_body)))
    if operation == "Query":
        return QUERY_RU + _kb(len(response_body)) - 1
    if operation == "DeleteItem":
        return WRITE_RU_PER_KB
    if operation in _WRITES:
        return WRITE_RU_PER_KB * _kb(len(request_body))
    return 0.0


def cosmos_response_hook(*, estimate: bool, meter: Meter = METER) -> ResponseHook:
    """A ``raw_response_hook`` for a ``CosmosClient`` counting each request and its request units:
    the ``x-ms-request-charge`` header unless ``estimate`` (the emulator, whose charge is a made-up
    1), then :func:`estimated_charge`."""

    def hook(pipeline_response: Any) -> None:
        request = pipeline_response.http_request
        response = pipeline_response.http_response
        status = int(response.status_code)
        operation = cosmos_operation(request.method, urllib.parse.urlsplit(request.url).path, request.headers)
        if status == 429 or status >= 500:
            meter.add("cosmos", "throttled")
            return
        meter.add("cosmos", operation)
        request_body = _body(request.body) if operation != "metadata" else b""
        if operation == "Batch":
            meter.add("cosmos", "Batch.items", len(batch_operations(request_body)))
        if estimate:
            response_body = _body(response.body()) if operation in ("ReadItem", "Query") else b""
            charge = estimated_charge(operation, status, request_body, response_body)
        else:
            try:
                charge = float(_header(response.headers, "x-ms-request-charge") or 0)
            except ValueError:
                charge = 0.0
        meter.add("cosmos", "milli-RU", round(charge * 1000))

    return hook


def storage_operation(service: str, method: str, url: str, headers: Any) -> str:
    """The name of a Blob or Queue Storage REST request's operation, as Azure's logs name it."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    segments = [s for s in parts.path.split("/") if s]
    if not _ACCOUNT_HOST.match(parts.hostname or ""):
        segments = segments[1:]  # Azurite: /<account>/<container or queue>/...
    comp = query.get("comp", "")
    if service == "queue":
        return _queue_operation(method, segments, comp, query)
    return _blob_operation(method, segments, comp, query, headers)


def _queue_operation(method: str, segments: list[str], comp: str, query: dict[str, str]) -> str:
    if not segments:
        return {"list": "ListQueues", "properties": "QueueServiceProperties", "stats": "GetQueueServiceStats"}.get(
            comp, "QueueService"
        )
    if len(segments) == 1:
        if comp == "metadata":
            return "GetQueueMetadata" if method in ("GET", "HEAD") else "SetQueueMetadata"
        if comp == "acl":
            return "GetQueueACL" if method == "GET" else "SetQueueACL"
        return {"PUT": "CreateQueue", "DELETE": "DeleteQueue"}.get(method, "GetQueueMetadata")
    if len(segments) == 2:  # <queue>/messages
        if method == "POST":
            return "PutMessage"
        if method == "DELETE":
            return "ClearMessages"
        return "PeekMessages" if query.get("peekonly", "").lower() == "true" else "GetMessages"
    return {"DELETE": "DeleteMessage", "PUT": "UpdateMessage"}.get(method, "GetMessages")


def _blob_operation(method: str, segments: list[str], comp: str, query: dict[str, str], headers: Any) -> str:
    if not segments:
        return "ListContainers" if comp == "list" else "BlobService"
    if len(segments) == 1:
        if comp == "list":
            return "ListBlobs"
        if method == "PUT" and not comp:
            return "CreateContainer"
        if method == "DELETE":
            return "DeleteContainer"
        return "ContainerProperties" if not comp else f"Container.{comp}"
    if method == "PUT":
        if not comp:
            return "CopyBlob" if _header(headers, "x-ms-copy-source") else "PutBlob"
        return {"block": "PutBlock", "blocklist": "PutBlockList", "appendblock": "AppendBlock"}.get(
            comp, f"SetBlob.{comp}"
        )
    if method == "GET":
        return "GetBlob" if not comp else f"GetBlob.{comp}"
    if method == "HEAD":
        return "GetBlobProperties"
    if method == "DELETE":
        return "DeleteBlob"
    return f"Blob.{method}"


def storage_response_hook(service: str, meter: Meter = METER) -> ResponseHook:
    """A ``raw_response_hook`` for a Blob (``service="blob"``) or Queue (``"queue"``) Storage client
    counting its requests by operation; 5xx answers are not billed and not counted."""

    def hook(pipeline_response: Any) -> None:
        request = pipeline_response.http_request
        response = pipeline_response.http_response
        if int(response.status_code) >= 500:
            return
        operation = storage_operation(service, request.method, request.url, request.headers)
        if operation == "GetMessages" and b"<QueueMessage>" not in _body(response.body()):
            operation = "GetMessages.empty"
        meter.add(service, operation)

    return hook


def billed_ms(seconds: float) -> int:
    """The milliseconds the Flex Consumption plan bills for an execution that ran ``seconds`` alone
    on its instance: at least :data:`MIN_EXECUTION_MS`, rounded up to :data:`EXECUTION_STEP_MS`.
    Executions overlapping on one instance share its billed period, so under concurrent load
    this is an upper bound."""
    ms = math.ceil(round(seconds * 1000, 6))
    return max(MIN_EXECUTION_MS, -(-ms // EXECUTION_STEP_MS) * EXECUTION_STEP_MS)


def count_execution(name: str, seconds: float, meter: Meter = METER) -> None:
    """One execution of function ``name`` that ran ``seconds``, with its :func:`billed_ms`."""
    ms = billed_ms(seconds)
    for service in ("functions", f"functions:{name}"):
        meter.add(service, "executions")
        meter.add(service, "ms", ms)
