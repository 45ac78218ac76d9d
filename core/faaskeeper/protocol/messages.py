"""The messages of the write protocol: client to writer, writer to distributor, functions to client."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from faaskeeper import paths
from faaskeeper.api.storage import NodeState, NodeUpdate, RequestMark
from faaskeeper.exceptions import (
    FaaSKeeperException,
    MalformedInputException,
    RolledBackException,
    RuntimeInconsistencyException,
)
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
    #: Only inside a transaction: the node exists at a version.
    CHECK = "check"
    #: A transaction: several creates, set_datas, deletes and checks applied atomically.
    MULTI = "multi"
    #: A barrier in the total order of writes (changes nothing).
    SYNC = "sync"


FLAG_EPHEMERAL = 1
FLAG_SEQUENTIAL = 2

#: The requests that change one node.
WRITES = frozenset({Op.CREATE, Op.SET_DATA, Op.DELETE})
#: The operations a transaction may hold.
TRANSACTION_OPS = frozenset({Op.CREATE, Op.SET_DATA, Op.DELETE, Op.CHECK})
#: The requests that go through the distributor in the session's name (the others manage the
#: session): they carry the session's lease.
REQUESTS = WRITES | {Op.MULTI, Op.SYNC}


@dataclass(frozen=True)
class TxnOp:
    """One operation of a write: a single write is a transaction of one."""

    op: Op
    path: str
    data: bytes = b""
    version: int = -1
    flags: int = 0

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def sequential(self) -> bool:
        return bool(self.flags & FLAG_SEQUENTIAL)

    def validated(self) -> TxnOp:
        """This op, or MalformedMessage naming what is wrong with it."""
        if self.op not in TRANSACTION_OPS:
            raise MalformedMessage(f"{self.op} is not an operation of a transaction")
        try:
            validate_path(self.path, allow_root=self.op is not Op.DELETE)
        except MalformedInputException as err:
            raise MalformedMessage(str(err)) from err
        if self.flags & ~(FLAG_EPHEMERAL | FLAG_SEQUENTIAL) or (self.flags and self.op is not Op.CREATE):
            raise MalformedMessage(f"unknown flags {self.flags} on {self.op}")
        if self.version < -1:
            raise MalformedMessage(f"version {self.version} of {self.op} {self.path}")
        if self.data and self.op not in (Op.CREATE, Op.SET_DATA):
            raise MalformedMessage(f"{self.op} carries no data")
        return self


def locked_paths(ops: Sequence[TxnOp]) -> list[str]:
    """The nodes a write locks before it validates, in the order it locks them
    (:func:`faaskeeper.paths.lock_order`): every node an op names, the parent of every create and
    delete, and their lowest common ancestor, on which the request is recorded (first in the
    order). A sequential create's node is named by its parent's counter: it is locked later."""
    wanted: set[str] = set()
    for op in ops:
        if op.op in (Op.CREATE, Op.DELETE) and op.path != paths.ROOT:
            wanted.add(paths.parent(op.path))
        if not (op.op is Op.CREATE and op.sequential):
            wanted.add(op.path)
    return paths.lock_order([common_ancestor(wanted), *wanted])


#: What each operation of a transaction adds to the messages that carry it, counted against the
#: deployment's data limit with the data: the node's state and the op's result in the
#: distributor's event, about 500 bytes, and its path three times.
OP_HEADER_ALLOWANCE = 512


def transaction_headers(ops: Sequence[TxnOp]) -> int:
    """The bytes a transaction's operations add to its messages beside their data (an allowance)."""
    return sum(OP_HEADER_ALLOWANCE + 3 * len(op.path) for op in ops)


def transaction_writes(ops: Sequence[TxnOp]) -> int:
    """The most items a commit of ``ops`` can write as a client can tell before sending it: the
    nodes it locks and, if it creates ephemeral nodes, their owner's index. The writer counts
    the commit's writes exactly (deleting others' ephemeral nodes writes their owners' too)."""
    sequential = sum(1 for op in ops if op.op is Op.CREATE and op.sequential)
    owners = 1 if any(op.op is Op.CREATE and op.ephemeral for op in ops) else 0
    return len(locked_paths(ops)) + sequential + owners


def common_ancestor(nodes: Iterable[str]) -> str:
    """The deepest node that is an ancestor of (or is) each of ``nodes``."""
    common: list[str] | None = None
    for node in nodes:
        parts = [] if node == paths.ROOT else node.split("/")[1:]
        if common is None:
            common = parts
            continue
        size = 0
        while size < min(len(common), len(parts)) and common[size] == parts[size]:
            size += 1
        common = common[:size]
    return "/" + "/".join(common or [])


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
    #: The operations of a transaction (MULTI).
    ops: tuple[TxnOp, ...] = ()

    @property
    def request_id(self) -> str:
        return f"{self.session_id}:{self.seq}"

    @property
    def txn_ops(self) -> tuple[TxnOp, ...]:
        """The operations the write applies: a single write is a transaction of one."""
        if self.op is Op.MULTI:
            return self.ops
        return (TxnOp(self.op, self.path, self.data, self.version, self.flags),)

    @property
    def data_size(self) -> int:
        """The node data the request carries, counted against the deployment's limit: a
        transaction's with :func:`transaction_headers`, so that its messages are no larger than
        the largest single write's."""
        if self.op is Op.MULTI:
            return sum(len(op.data) for op in self.ops) + transaction_headers(self.ops)
        return len(self.data)

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
        if self.op is Op.SYNC:
            header["path"] = self.path
        if self.op in REQUESTS and self.lease is not None:
            header["lease"] = self.lease.to_wire()
        if self.op is Op.MULTI:
            header["ops"] = [[op.op.value, op.path, op.version, op.flags, len(op.data)] for op in self.ops]
            return encode(header, b"".join(op.data for op in self.ops))
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
                    lease=_lease(header),
                )
            elif op is Op.MULTI:
                ops = _ops(get(header, "ops", list), data, max_data_size)
                request = replace(request, ops=ops, lease=_lease(header))
            elif op is Op.SYNC:
                try:
                    path = validate_path(get(header, "path", str))
                except MalformedInputException as err:
                    raise MalformedMessage(str(err)) from err
                request = replace(request, path=path, lease=_lease(header))
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


def _lease(header: dict[str, Any]) -> Lease | None:
    return Lease.from_wire(header["lease"]) if header.get("lease") is not None else None


def _ops(raw: list[Any], data: bytes, max_data_size: int) -> tuple[TxnOp, ...]:
    """A transaction's operations from their headers and the data they carry, one after another."""
    if len(data) > max_data_size:
        raise MalformedMessage(f"data of {len(data)} bytes exceeds the limit of {max_data_size}")
    ops, offset = [], 0
    for entry in raw:
        if not isinstance(entry, list) or len(entry) != 5:
            raise MalformedMessage("a transaction's operation is not [op, path, version, flags, size]")
        name, path, version, flags, size = entry
        if not isinstance(name, str) or not isinstance(path, str):
            raise MalformedMessage("a transaction's operation names its op and path as strings")
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (version, flags, size)) or size < 0:
            raise MalformedMessage("a transaction's operation has a non-integer version, flags or size")
        ops.append(TxnOp(Op(name), path, data[offset : offset + size], version, flags).validated())
        offset += size
    if offset != len(data):
        raise MalformedMessage(f"a transaction's operations carry {offset} bytes of its {len(data)}")
    return tuple(ops)


class EventKind(StrEnum):
    #: A committed (or about to be committed) write to apply to user storage.
    COMMIT = "commit"
    #: No storage change; only a reply to deliver in transaction order (session closed).
    BARRIER = "barrier"
    #: No storage change: a client's sync, answered in transaction order.
    SYNC = "sync"


@dataclass(frozen=True)
class OpResult:
    """The outcome of one operation of a committed write, for its client: the path it wrote and
    the node's state right after it (the transaction id filled in by the distributor)."""

    op: Op
    path: str
    stat: Stat | None = None
    #: Which of the node's counters take the transaction id (the node was created, or had its
    #: children changed, by this op or an earlier one of the transaction).
    created: bool = False
    children_changed: bool = False

    def resolved_stat(self, txn: int) -> Stat | None:
        if self.stat is None:
            return None
        state = NodeState(True, self.stat).with_txn(
            txn, created=self.created, modified=True, children_changed=self.children_changed
        )
        return state.stat

    def to_wire(self) -> list[Any]:
        stat = self.stat.to_dict() if self.stat else None
        return [self.op.value, self.path, stat, self.created, self.children_changed]

    @staticmethod
    def from_wire(raw: Any) -> OpResult:
        if not isinstance(raw, list) or len(raw) not in (4, 5):
            raise MalformedMessage("an operation's result is not [op, path, stat, created, children changed]")
        op, path, stat, created = raw[:4]
        children_changed = bool(raw[4]) if len(raw) == 5 else False
        return OpResult(
            Op(op), validate_path(path), Stat.from_dict(stat) if stat else None, bool(created), children_changed
        )


@dataclass(frozen=True)
class DistributorEvent:
    """What the writer pushes to the distributor queue; its sequence number is the transaction id.

    Carries everything needed to finish the commit on the writer's behalf if it died between
    push and commit: the lock token, every node's new state, the session's request seq and the
    request marks deleted nodes hand to the node the request is recorded on. ``data`` is the new
    data of each node the write creates or sets, ``results`` what each of its operations did.
    """

    kind: EventKind
    session_id: str
    seq: int
    reply_to: str
    op: Op
    lock_token: str = ""
    updates: tuple[NodeUpdate, ...] = ()
    data: tuple[tuple[str, bytes], ...] = ()
    results: tuple[OpResult, ...] = ()
    counts_for_session: bool = True
    inherited: Mapping[str, RequestMark] = field(default_factory=dict)
    #: The node a sync names.
    path: str = "/"

    @property
    def primary_path(self) -> str:
        return self.results[0].path if self.results else self.updates[0].path if self.updates else self.path

    def encode(self) -> bytes:
        header: dict[str, Any] = {
            "kind": self.kind.value,
            "session": self.session_id,
            "seq": self.seq,
            "reply_to": self.reply_to,
            "op": self.op.value,
            "lock": self.lock_token,
            "updates": [u.to_dict() for u in self.updates],
            "data": [[path, len(data)] for path, data in self.data],
            "results": [r.to_wire() for r in self.results],
            "counts": self.counts_for_session,
            "path": self.path,
        }
        if self.inherited:
            header["inherit"] = {sid: [m.seq, m.timestamp] for sid, m in self.inherited.items()}
        return encode(header, b"".join(data for _path, data in self.data))

    @staticmethod
    def decode(message: bytes) -> DistributorEvent:
        header, payload = decode(message)

        def build() -> DistributorEvent:
            kind = EventKind(get(header, "kind", str))
            updates = tuple(NodeUpdate.from_dict(u) for u in get(header, "updates", list))
            for update in updates:
                validate_path(update.path)
            if kind is EventKind.COMMIT and not updates:
                raise MalformedMessage("a commit event has no updates")
            op = Op(get(header, "op", str))
            if "data_path" in header or "result_path" in header:
                return _single_write_event(header, kind, op, updates, payload)
            data, offset = [], 0
            for path, size in get(header, "data", list, optional=True) or []:
                if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                    raise MalformedMessage("a node's data size is not a count")
                data.append((validate_path(path), payload[offset : offset + size]))
                offset += size
            if offset != len(payload):
                raise MalformedMessage(f"the event's nodes carry {offset} bytes of its {len(payload)}")
            return DistributorEvent(
                kind=kind,
                session_id=get(header, "session", str),
                seq=get(header, "seq", int),
                reply_to=get(header, "reply_to", str),
                op=op,
                lock_token=get(header, "lock", str),
                updates=updates,
                data=tuple(data),
                results=tuple(OpResult.from_wire(r) for r in get(header, "results", list, optional=True) or []),
                counts_for_session=get(header, "counts", bool),
                inherited=_marks(get(header, "inherit", dict, optional=True) or {}),
                path=validate_path(get(header, "path", str, optional=True) or "/"),
            )

        try:
            return checked("distributor event", build)
        except MalformedInputException as err:
            raise MalformedMessage(str(err)) from err


def _single_write_event(
    header: dict[str, Any], kind: EventKind, op: Op, updates: tuple[NodeUpdate, ...], payload: bytes
) -> DistributorEvent:
    """An event in the form writers pushed before transactions (one write, its data on
    ``data_path``), still in a queue when the functions were updated."""
    data_path = get(header, "data_path", str, optional=True)
    result_path = get(header, "result_path", str, optional=True)
    results: tuple[OpResult, ...] = ()
    if updates and result_path is not None:
        primary = updates[0]
        stat = primary.state.stat if op in (Op.CREATE, Op.SET_DATA) else None
        results = (OpResult(op, validate_path(result_path), stat, created=primary.created),)
    return DistributorEvent(
        kind=kind,
        session_id=get(header, "session", str),
        seq=get(header, "seq", int),
        reply_to=get(header, "reply_to", str),
        op=op,
        lock_token=get(header, "lock", str),
        updates=updates,
        data=((validate_path(data_path), payload),) if data_path is not None else (),
        results=results,
        counts_for_session=get(header, "counts", bool),
        inherited=_marks(get(header, "inherit", dict, optional=True) or {}),
    )


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
    #: A transaction's outcome, one entry per operation: on success ``{"path", "stat"}`` (each
    #: where the op has one); on failure the error of each (``{"error", "message", "error_path",
    #: "version"}``).
    results: list[dict[str, Any]] | None = None

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
        if self.results is not None:
            out["results"] = self.results
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
            results=list(data["results"]) if isinstance(data.get("results"), list) else None,
        )

    @staticmethod
    def transaction_failure(seq: int, count: int, index: int, err: FaaSKeeperException) -> Reply:
        """A transaction refused: op ``index`` failed with ``err``, the ops before it are rolled
        back and the ops after it were not run, as ZooKeeper's multi reports it."""

        def entry(error: FaaSKeeperException) -> dict[str, Any]:
            return {
                "error": error.code,
                "message": str(error),
                "error_path": getattr(error, "path", None),
                "version": getattr(error, "version", None),
            }

        results = [
            entry(err if i == index else RolledBackException() if i < index else RuntimeInconsistencyException())
            for i in range(count)
        ]
        failed = Reply.failure(seq, err)
        return replace(failed, results=results)


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
