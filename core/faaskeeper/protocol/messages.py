"""The messages of the write protocol: client to writer, writer to distributor, functions to client."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from faaskeeper.api.storage import NodeUpdate, RequestMark
from faaskeeper.exceptions import FaaSKeeperException, MalformedInputException
from faaskeeper.node import Stat
from faaskeeper.paths import validate_path
from faaskeeper.protocol.codec import MalformedMessage, checked, decode, encode
from faaskeeper.protocol.codec import field as get
from faaskeeper.protocol.leases import Lease


class Op(StrEnum):
    REGISTER_SESSION = "register_session"
    DEREGISTER_SESSION = "deregister_session"
    EXPIRE_SESSION = "expire_session"
    #: Finish the end of a session whose ephemeral nodes were committed after it ended (sent by
    #: the functions, never by a client).
    SWEEP_SESSION = "sweep_session"
    CREATE = "create"
    SET_DATA = "set_data"
    DELETE = "delete"


FLAG_EPHEMERAL = 1
FLAG_SEQUENTIAL = 2

#: The requests that change nodes (the others manage the session).
WRITES = frozenset({Op.CREATE, Op.SET_DATA, Op.DELETE})


def token_digest(token: str) -> str:
    """What system storage keeps of a session's secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


def expiry_proof(digest: str, session_id: str) -> str:
    """The token the heartbeat function signs an expiry with: derived from what only system
    storage holds, so no client can expire another's session."""
    return hmac.new(digest.encode(), f"expire:{session_id}".encode(), hashlib.sha256).hexdigest()


def sweep_proof(digest: str, session_id: str) -> str:
    """The token a sweep of an ended session is signed with, as :func:`expiry_proof`."""
    return hmac.new(digest.encode(), f"sweep:{session_id}".encode(), hashlib.sha256).hexdigest()


#: The requests that end a session, and so the ones a sweep finishes.
SESSION_ENDS = frozenset({Op.DEREGISTER_SESSION, Op.EXPIRE_SESSION})


@dataclass(frozen=True)
class WriteRequest:
    """A client's write, sent to the writer queue in the session's FIFO group."""

    op: Op
    session_id: str
    token: str
    seq: int
    path: str = "/"
    data: bytes = b""
    version: int = -1
    flags: int = 0
    channel: str = ""
    heartbeat: bool = True
    #: Where to answer when the session is unknown (expired); the session's channel otherwise.
    reply_to: str = ""
    #: The session's latest lease (:mod:`faaskeeper.protocol.leases`), on writes.
    lease: Lease | None = None
    #: On a sweep: the request that ended the session (``seq`` is that request's).
    ends: Op | None = None

    @property
    def request_id(self) -> str:
        return f"{self.session_id}:{self.seq}"

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def sequential(self) -> bool:
        return bool(self.flags & FLAG_SEQUENTIAL)

    def encode(self) -> bytes:
        header: dict[str, Any] = {
            "op": self.op.value,
            "session": self.session_id,
            "token": self.token,
            "seq": self.seq,
            "reply_to": self.reply_to,
        }
        if self.op in WRITES:
            header.update(path=self.path, version=self.version, flags=self.flags)
            if self.lease is not None:
                header["lease"] = self.lease.to_wire()
        if self.op is Op.REGISTER_SESSION:
            header.update(channel=self.channel, heartbeat=self.heartbeat)
        if self.op is Op.SWEEP_SESSION and self.ends is not None:
            header["ends"] = self.ends.value
        return encode(header, self.data)

    @staticmethod
    def decode(message: bytes, max_data_size: int) -> WriteRequest:
        header, data = decode(message)

        def build() -> WriteRequest:
            op = Op(get(header, "op", str))
            seq = get(header, "seq", int)
            if seq < (0 if op in (Op.EXPIRE_SESSION, Op.SWEEP_SESSION) else 1):
                raise MalformedMessage("field 'seq' must be positive")
            session = get(header, "session", str)
            if not session or len(session) > 128:
                raise MalformedMessage("field 'session' must be 1-128 characters")
            reply_to = get(header, "reply_to", str, optional=True) or ""
            request = WriteRequest(
                op=op, session_id=session, token=get(header, "token", str), seq=seq, reply_to=reply_to
            )
            if op in WRITES:
                try:
                    path = validate_path(get(header, "path", str), allow_root=op is not Op.DELETE)
                except MalformedInputException as err:
                    raise MalformedMessage(str(err)) from err
                if len(data) > max_data_size:
                    raise MalformedMessage(f"data of {len(data)} bytes exceeds the limit of {max_data_size}")
                flags = get(header, "flags", int)
                if flags & ~(FLAG_EPHEMERAL | FLAG_SEQUENTIAL):
                    raise MalformedMessage(f"unknown flags {flags}")
                request = replace(
                    request,
                    path=path,
                    data=data,
                    version=get(header, "version", int),
                    flags=flags,
                    lease=Lease.from_wire(header["lease"]) if header.get("lease") is not None else None,
                )
            elif op is Op.SWEEP_SESSION:
                ends = Op(get(header, "ends", str))
                if ends not in SESSION_ENDS:
                    raise MalformedMessage(f"a sweep finishes a session's end, not {ends}")
                request = replace(request, ends=ends)
            elif op is Op.REGISTER_SESSION:
                request = replace(
                    request, channel=get(header, "channel", str), heartbeat=get(header, "heartbeat", bool)
                )
            return request

        return checked("write request", build)


class EventKind(StrEnum):
    #: A committed (or about to be committed) write to apply to user storage.
    COMMIT = "commit"
    #: No storage change; only a reply to deliver in transaction order (session closed).
    BARRIER = "barrier"


@dataclass(frozen=True)
class DistributorEvent:
    """What the writer pushes to the distributor queue; its sequence number is the transaction id.

    Carries everything needed to finish the commit on the writer's behalf if it died between
    push and commit: the lock token, every node's new state, the session's request seq and the
    request marks a deleted node hands to its parent.
    """

    kind: EventKind
    session_id: str
    seq: int
    reply_to: str
    op: Op
    lock_token: str = ""
    updates: tuple[NodeUpdate, ...] = ()
    data_path: str | None = None
    data: bytes = b""
    result_path: str | None = None
    counts_for_session: bool = True
    inherited: Mapping[str, RequestMark] = field(default_factory=dict)

    @property
    def primary_path(self) -> str:
        return self.updates[0].path

    def encode(self) -> bytes:
        header: dict[str, Any] = {
            "kind": self.kind.value,
            "session": self.session_id,
            "seq": self.seq,
            "reply_to": self.reply_to,
            "op": self.op.value,
            "lock": self.lock_token,
            "updates": [u.to_dict() for u in self.updates],
            "data_path": self.data_path,
            "result_path": self.result_path,
            "counts": self.counts_for_session,
        }
        if self.inherited:
            header["inherit"] = {sid: [m.seq, m.timestamp] for sid, m in self.inherited.items()}
        return encode(header, self.data)

    @staticmethod
    def decode(message: bytes) -> DistributorEvent:
        header, data = decode(message)

        def build() -> DistributorEvent:
            kind = EventKind(get(header, "kind", str))
            updates = tuple(NodeUpdate.from_dict(u) for u in get(header, "updates", list))
            for update in updates:
                validate_path(update.path)
            if kind is EventKind.COMMIT and not updates:
                raise MalformedMessage("a commit event has no updates")
            return DistributorEvent(
                kind=kind,
                session_id=get(header, "session", str),
                seq=get(header, "seq", int),
                reply_to=get(header, "reply_to", str),
                op=Op(get(header, "op", str)),
                lock_token=get(header, "lock", str),
                updates=updates,
                data_path=get(header, "data_path", str, optional=True),
                data=data,
                result_path=get(header, "result_path", str, optional=True),
                counts_for_session=get(header, "counts", bool),
                inherited=_marks(get(header, "inherit", dict, optional=True) or {}),
            )

        try:
            return checked("distributor event", build)
        except MalformedInputException as err:
            raise MalformedMessage(str(err)) from err


def _marks(raw: dict[str, Any]) -> dict[str, RequestMark]:
    marks = {}
    for session, mark in raw.items():
        if not isinstance(mark, list) or len(mark) != 2 or not all(type(v) in (int, float) for v in mark):
            raise MalformedMessage(f"request mark of session {session!r} is not [seq, timestamp]")
        marks[session] = RequestMark(int(mark[0]), float(mark[1]))
    return marks


@dataclass(frozen=True)
class Reply:
    """The outcome of one request, sent to the client over its channel."""

    seq: int
    ok: bool
    path: str | None = None
    stat: Stat | None = None
    error: str | None = None
    message: str = ""
    error_path: str | None = None
    version: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: A lease for the session, on the reply to its registration.
    lease: Lease | None = None

    @staticmethod
    def success(seq: int, path: str | None = None, stat: Stat | None = None) -> Reply:
        return Reply(seq=seq, ok=True, path=path, stat=stat)

    @staticmethod
    def failure(seq: int, err: FaaSKeeperException) -> Reply:
        return Reply(
            seq=seq,
            ok=False,
            error=err.code,
            message=str(err),
            error_path=getattr(err, "path", None),
            version=getattr(err, "version", None),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "result", "seq": self.seq, "ok": self.ok}
        if self.path is not None:
            out["path"] = self.path
        if self.stat is not None:
            out["stat"] = self.stat.to_dict()
        if not self.ok:
            out.update(error=self.error, message=self.message, error_path=self.error_path, version=self.version)
        if self.lease is not None:
            out["lease"] = self.lease.to_wire()
        return out

    def encode(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Reply:
        stat = data.get("stat")
        return Reply(
            seq=int(data["seq"]),
            ok=bool(data["ok"]),
            path=data.get("path"),
            stat=Stat.from_dict(stat) if stat else None,
            error=data.get("error"),
            message=str(data.get("message", "")),
            error_path=data.get("error_path"),
            version=data.get("version"),
        )


def session_expired_notice(session_id: str) -> bytes:
    """Told to a client whose session the heartbeat function expired."""
    return json.dumps({"kind": "expired", "session": session_id}).encode()


PING = json.dumps({"kind": "ping"}).encode()


def ping(lease: Lease | None) -> bytes:
    """The heartbeat's ping, with the session's next lease if it gets one."""
    if lease is None:
        return PING
    return json.dumps({"kind": "ping", "lease": lease.to_wire()}).encode()


def pong(session_id: str) -> bytes:
    return json.dumps({"kind": "pong", "session": session_id}).encode()
