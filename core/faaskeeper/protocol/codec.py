"""Wire format of queue messages: a JSON header followed by the raw node data.

Every decoder validates field by field; a message that fails is malformed (or forged) and
must be dead-lettered, never applied.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAGIC = b"FK1"
_HEADER_LEN = struct.Struct(">I")


class MalformedMessage(ValueError):
    """A queue message that cannot be a FaaSKeeper message; never retried, never applied."""


def encode(header: dict[str, Any], payload: bytes = b"") -> bytes:
    raw = json.dumps(header, separators=(",", ":")).encode()
    return MAGIC + _HEADER_LEN.pack(len(raw)) + raw + payload


def decode(message: bytes) -> tuple[dict[str, Any], bytes]:
    if not isinstance(message, bytes | bytearray) or not message.startswith(MAGIC):
        raise MalformedMessage("not a FaaSKeeper message (bad magic)")
    start = len(MAGIC) + _HEADER_LEN.size
    if len(message) < start:
        raise MalformedMessage("truncated header length")
    (size,) = _HEADER_LEN.unpack_from(message, len(MAGIC))
    if len(message) < start + size:
        raise MalformedMessage("truncated header")
    try:
        header = json.loads(message[start : start + size])
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise MalformedMessage(f"header is not JSON: {err}") from err
    if not isinstance(header, dict):
        raise MalformedMessage("header is not an object")
    return header, bytes(message[start + size :])


def field(header: dict[str, Any], key: str, kind: type[T] | tuple[type, ...], *, optional: bool = False) -> T:
    """``header[key]`` checked against ``kind``; bool is never accepted as int."""
    if key not in header or header[key] is None:
        if optional:
            return None  # type: ignore[return-value]
        raise MalformedMessage(f"missing field {key!r}")
    value = header[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise MalformedMessage(f"field {key!r} has the wrong type")
    if not isinstance(value, kinds):
        raise MalformedMessage(f"field {key!r} has the wrong type")
    return value  # type: ignore[return-value]


def checked(what: str, build: Callable[[], T]) -> T:
    """Run a decoder, turning any structural error into MalformedMessage."""
    try:
        return build()
    except MalformedMessage:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise MalformedMessage(f"malformed {what}: {err!r}") from err
