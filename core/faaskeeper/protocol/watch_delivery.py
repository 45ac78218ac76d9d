"""A batch of watch notifications as the distributor hands it to the watch function, and the
watch function's report: plain JSON objects, which any platform carries (the payload of a Lambda
invocation, the body of an HTTP request)::

    {"kind": "watch-delivery", "txn": 42,
     "clients": [{"address": "tcp://10.0.0.5:4001",
                  "events": [{"path": "/app", "event": "NodeDataChanged"}]}]}

    {"kind": "watch-report", "txn": 42, "delivered": 1,
     "undelivered": [{"address": "tcp://10.0.0.9:4001", "messages": 1, "reason": "..."}]}

A request names each client once, with the events of write ``txn`` it is owed, in the order they
must reach it. Decoding checks every field and refuses the whole request (MalformedMessage, one
line naming what is wrong) before anything is sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from faaskeeper import paths
from faaskeeper.exceptions import MalformedInputException
from faaskeeper.protocol.codec import MalformedMessage, field
from faaskeeper.watch import WatchEventType

REQUEST_KIND = "watch-delivery"
REPORT_KIND = "watch-report"

_EVENTS = {event.value: event for event in WatchEventType}


def notification(txn: int, path: str, event: WatchEventType) -> bytes:
    """The message a client receives for ``event`` on ``path`` fired by write ``txn``."""
    return json.dumps({"kind": "watch", "txn": txn, "path": path, "event": event.value}).encode()


@dataclass(frozen=True)
class ClientEvents:
    """What one client, listening at ``address``, is told of one write, in order."""

    address: str
    events: tuple[tuple[str, WatchEventType], ...]


@dataclass(frozen=True)
class WatchDelivery:
    """The notifications write ``txn`` owes, by client."""

    txn: int
    clients: tuple[ClientEvents, ...]

    @property
    def messages(self) -> int:
        return sum(len(client.events) for client in self.clients)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": REQUEST_KIND,
            "txn": self.txn,
            "clients": [
                {"address": c.address, "events": [{"path": p, "event": e.value} for p, e in c.events]}
                for c in self.clients
            ],
        }

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @staticmethod
    def from_json(data: object) -> WatchDelivery:
        """The request ``data`` (a parsed JSON object) holds; MalformedMessage if it holds none."""
        header = _object(data, "a watch delivery")
        if header.get("kind") != REQUEST_KIND:
            raise MalformedMessage(f"not a watch delivery: 'kind' is {header.get('kind')!r}, not {REQUEST_KIND!r}")
        txn = _transaction(header)
        entries = field(header, "clients", list)
        if not entries:
            raise MalformedMessage("a watch delivery names no clients")
        clients: list[ClientEvents] = []
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            client = _client(entry, f"clients[{index}]")
            if client.address in seen:
                raise MalformedMessage(f"clients[{index}]: {client.address!r} is named twice")
            seen.add(client.address)
            clients.append(client)
        return WatchDelivery(txn, tuple(clients))

    @staticmethod
    def decode(raw: bytes) -> WatchDelivery:
        return WatchDelivery.from_json(_parse(raw, "watch delivery"))


@dataclass(frozen=True)
class Undelivered:
    """A client the watch function could not reach: it stopped there, ``messages`` not sent."""

    address: str
    messages: int
    reason: str


@dataclass(frozen=True)
class DeliveryReport:
    """What the watch function did with a :class:`WatchDelivery`."""

    txn: int
    #: Messages sent.
    delivered: int
    undelivered: tuple[Undelivered, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": REPORT_KIND,
            "txn": self.txn,
            "delivered": self.delivered,
            "undelivered": [
                {"address": u.address, "messages": u.messages, "reason": u.reason} for u in self.undelivered
            ],
        }

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":")).encode()

    @staticmethod
    def from_json(data: object) -> DeliveryReport:
        header = _object(data, "a watch report")
        if header.get("kind") != REPORT_KIND:
            raise MalformedMessage(f"not a watch report: 'kind' is {header.get('kind')!r}, not {REPORT_KIND!r}")
        undelivered = []
        for index, entry in enumerate(field(header, "undelivered", list)):
            item = _object(entry, f"undelivered[{index}]")
            undelivered.append(
                Undelivered(field(item, "address", str), _count(item, "messages"), field(item, "reason", str))
            )
        return DeliveryReport(_transaction(header), _count(header, "delivered"), tuple(undelivered))

    @staticmethod
    def decode(raw: bytes) -> DeliveryReport:
        return DeliveryReport.from_json(_parse(raw, "watch report"))


def _parse(raw: bytes, what: str) -> object:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedMessage(f"a {what} must be a JSON object: {err}") from err


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MalformedMessage(f"{what} must be a JSON object, got {type(data).__name__}")
    return data


def _transaction(header: dict[str, Any]) -> int:
    txn = field(header, "txn", int)
    if txn < 0:
        raise MalformedMessage(f"'txn' must be a transaction id (0 or more), got {txn}")
    return txn


def _count(header: dict[str, Any], key: str) -> int:
    value = field(header, key, int)
    if value < 0:
        raise MalformedMessage(f"{key!r} must be 0 or more, got {value}")
    return value


def _client(entry: object, where: str) -> ClientEvents:
    item = _object(entry, where)
    address = item.get("address")
    if not isinstance(address, str) or not address:
        raise MalformedMessage(f"{where}: 'address' must be a client channel address, got {address!r}")
    events = item.get("events")
    if not isinstance(events, list) or not events:
        raise MalformedMessage(f"{where}: 'events' must be a non-empty list, got {events!r}")
    out = []
    for index, raw in enumerate(events):
        event = _object(raw, f"{where}.events[{index}]")
        path, name = event.get("path"), event.get("event")
        try:
            paths.validate_path(path)
        except MalformedInputException as err:
            raise MalformedMessage(f"{where}.events[{index}]: {err}") from err
        if not isinstance(name, str) or name not in _EVENTS:
            known = ", ".join(_EVENTS)
            raise MalformedMessage(f"{where}.events[{index}]: 'event' must be one of {known}, got {name!r}")
        out.append((str(path), _EVENTS[name]))
    return ClientEvents(address, tuple(out))
