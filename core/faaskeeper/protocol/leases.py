"""Session leases: what lets the writer take a session's write without reading the session.

The heartbeat function signs a lease into each ping to a session that answered the one before
(and the writer into the reply to a registration): the session id, its token's digest and its
channel, valid until a time. The client sends its latest lease with every write. On a request's
first delivery, a valid lease tells the writer what the session record would: the token is the
session's (only the functions hold the deployment's lease key), replies go to the signed
channel, and the session has not expired. For the last: a lease ends ``lease_duration`` after
the ping that carried it, and the writer takes a session's expiry only ``silence_allowed`` (the
session timeout less the heartbeat interval before that ping) after the end of the run whose
ping it left unanswered first; a lease is that long less twice ``clock_drift`` and
``delivery_margin``, so every lease of a session has ended, even on a clock ``clock_drift``
away, before its expiry is processed. A heartbeat run that began before another recorded the
silence, and leased the session meanwhile, did so within one storage request of that record
(``delivery_margin``). Requests behind the expiry in the session's FIFO group are taken only
after it, with their leases ended: they read the session, find it gone, and fail. A request
without a valid lease, and every redelivery, reads the session as before.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from faaskeeper.protocol.codec import MalformedMessage

#: Bytes of a deployment's lease key.
KEY_BYTES = 32


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


@dataclass(frozen=True)
class Lease:
    """A session's lease: valid until ``until`` (``time.time()`` seconds), signed by the functions."""

    until: float
    signature: str

    def to_wire(self) -> list[Any]:
        return [self.until, self.signature]

    @staticmethod
    def from_wire(value: Any) -> Lease:
        """A lease as a message carries it; MalformedMessage if it is not ``[until, signature]``."""
        if (
            not isinstance(value, list)
            or len(value) != 2
            or type(value[0]) not in (int, float)
            or not isinstance(value[1], str)
            or len(value[1]) > 128
        ):
            raise MalformedMessage("field 'lease' must be [until, signature]")
        return Lease(float(value[0]), value[1])


def _signature(key: bytes, session_id: str, digest: str, channel: str, until: float) -> str:
    text = f"lease\n{session_id}\n{digest}\n{channel}\n{until!r}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def sign(key: bytes, session_id: str, digest: str, channel: str, until: float) -> Lease:
    return Lease(until, _signature(key, session_id, digest, channel, until))


def issue(key: bytes | None, duration: float, session_id: str, digest: str, channel: str, now: float) -> Lease | None:
    """A lease lasting ``duration`` from ``now``; None without a key or a duration."""
    if key is None or duration <= 0:
        return None
    return sign(key, session_id, digest, channel, now + duration)


def holds(key: bytes, lease: Lease, session_id: str, digest: str, channel: str, now: float) -> bool:
    """Whether ``lease`` was signed with ``key`` for this session, token digest and channel, and
    has not ended at ``now``."""
    if now >= lease.until:
        return False
    expected = _signature(key, session_id, digest, channel, lease.until)
    return hmac.compare_digest(expected, lease.signature)
