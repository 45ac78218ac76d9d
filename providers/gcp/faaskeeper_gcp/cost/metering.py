"""Counting the billable requests the provider makes, for the cost report.

Every Firestore and Pub/Sub call of the provider goes through
:class:`~faaskeeper_gcp.storage.firestore.Documents` or :mod:`faaskeeper_gcp.queues`, which add to
the process-wide :data:`METER`, keyed ``(service, unit)`` by what Google bills:

* ``("firestore", "reads")``, ``("firestore", "writes")``, ``("firestore", "deletes")``: documents
  read, written and deleted (a missing document read still bills one read; a query bills one
  read per document returned, at least one; a count aggregation one per 1000 entries);
* ``("firestore", "requests")``: RPCs, which are not billed but show round trips;
* ``("pubsub", "messages")`` and ``("pubsub", "bytes")``: published messages and their billed
  size (data plus attributes, at least 1000 bytes per publish request);
* ``("pubsub", "deliveries")`` and ``("pubsub", "delivered bytes")``: messages pushed to a
  function and their billed size (delivery is billed as throughput too, at least 1000 bytes per
  push request), counted by the function entry points;
* ``("pubsub", "pulled")`` and ``("pubsub", "pulled bytes")``: messages pulled from a
  subscription of the client channel (a client's inbox, a function's answers), with their
  billed size counted as for a publish;
* ``("functions", "invocations")`` and ``("functions", "ms")``, and per function
  ``("functions:<name>", ...)``: counted by the function entry points.

Function handlers can take ``METER.snapshot()`` before and after an invocation and log
:func:`difference`.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from faaskeeper.metering import Meter

#: Pub/Sub bills each publish request as at least this many bytes.
PUBSUB_MIN_BYTES = 1000


#: The process-wide meter the provider adds to.
METER = Meter()


def billed_size(data: bytes, attributes: Mapping[str, str]) -> int:
    return max(PUBSUB_MIN_BYTES, len(data) + sum(len(k) + len(v) for k, v in attributes.items()))


def count_publish(data: bytes, attributes: Mapping[str, str], meter: Meter = METER) -> None:
    meter.add("pubsub", "messages")
    meter.add("pubsub", "bytes", billed_size(data, attributes))


def count_pull(data: bytes, attributes: Mapping[str, str], meter: Meter = METER) -> None:
    meter.add("pubsub", "pulled")
    meter.add("pubsub", "pulled bytes", billed_size(data, attributes))


def count_delivery(event_data: Any, meter: Meter = METER) -> None:
    """A Pub/Sub message pushed to a function (the ``data`` of its CloudEvent)."""
    message = event_data.get("message") if isinstance(event_data, dict) else None
    size = 0
    if isinstance(message, dict):
        try:
            size += len(base64.b64decode(str(message.get("data") or "")))
        except (binascii.Error, ValueError):
            size += len(str(message.get("data")))
        attributes = message.get("attributes")
        if isinstance(attributes, dict):
            size += sum(len(str(k)) + len(str(v)) for k, v in attributes.items())
    meter.add("pubsub", "deliveries")
    meter.add("pubsub", "delivered bytes", max(PUBSUB_MIN_BYTES, size))
