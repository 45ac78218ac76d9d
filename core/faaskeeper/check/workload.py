"""Random client calls on a few nodes, each recorded (invocation, then response) as it happens.

Every record is a line written and flushed at once, so a process killed mid-call leaves the call
recorded without a response. Nodes: ``ROOT/n0..`` (create, set with and without versions, delete,
get, exists, watches), ``ROOT/e0..`` (ephemeral creates, contended between sessions), and
``ROOT/q`` (sequential creates); ``get_children`` of ``ROOT`` with and without watches.
Transactions set and check ``ROOT/n0..``; create and delete plain, ephemeral and sequential
children of the session's own subtree ``ROOT/t/<session>``, mostly where they succeed; and create
and delete the contended ``ROOT/m0``, ``ROOT/m1`` and sequential children of ``ROOT/ms``.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import IO, Any

from faaskeeper import paths
from faaskeeper.check.history import Call, History, SessionEnd, WatchNotice
from faaskeeper.client import FaaSKeeperClient, Future
from faaskeeper.client.client import SessionState
from faaskeeper.config import Config
from faaskeeper.exceptions import (
    ConnectionLossException,
    FaaSKeeperException,
    RolledBackException,
    RuntimeInconsistencyException,
    TimeoutException,
)
from faaskeeper.node import Node, Stat
from faaskeeper.watch import WatchedEvent

ROOT = "/h"
QUEUE = f"{ROOT}/q"
#: Each session's own subtree, ``TREES/<session>``, where its transactions create and delete.
TREES = f"{ROOT}/t"
#: Nodes every session's transactions create and delete, contended.
SHARED = (f"{ROOT}/m0", f"{ROOT}/m1")
#: The parent of the sequential nodes every session's transactions create.
SHARED_SEQUENTIAL = f"{ROOT}/ms"
#: The plain (or ephemeral) children of a session's subtree.
OWN_CHILDREN = 3
#: Answers that leave a call's outcome unknown: it is recorded without a response.
UNKNOWN_OUTCOMES = (TimeoutException, ConnectionLossException)


#: What a failed transaction reports for the operations other than the one that failed.
NOT_RUN = (RolledBackException, RuntimeInconsistencyException)


class _MultiFailed(Exception):
    """Operation ``index`` of a transaction failed with ``error``."""

    def __init__(self, index: int, error: FaaSKeeperException) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class Recorder:
    """Writes a session's history records, one flushed JSON line each."""

    def __init__(self, out: IO[str]) -> None:
        self._out = out
        self._guard = threading.Lock()

    def write(self, kind: str, record: Any) -> None:
        self.write_line({"type": kind, **asdict(record)})

    def write_line(self, record: dict[str, Any]) -> None:
        line = json.dumps(record)
        with self._guard:
            self._out.write(line + "\n")
            self._out.flush()


def _node(node: Node | None) -> dict[str, Any] | None:
    if node is None:
        return None
    stat = node.stat
    return {
        "data": (node.data or b"").hex(),
        "version": stat.version,
        "czxid": stat.czxid,
        "mzxid": stat.mzxid,
        "owner": stat.ephemeral_owner,
    }


class Workload:
    """One session's random calls, recorded."""

    def __init__(
        self,
        client: FaaSKeeperClient,
        recorder: Recorder,
        rng: random.Random,
        nodes: int = 3,
        client_timeout: float = 20.0,
    ) -> None:
        self.client = client
        self.client_timeout = client_timeout
        self.recorder = recorder
        self.rng = rng
        self.nodes = [f"{ROOT}/n{i}" for i in range(nodes)]
        self.ephemerals = [f"{ROOT}/e{i}" for i in range(2)]
        self.session = client.session_id or ""
        self._index = 0
        self._completed = 0
        self._order = threading.Lock()
        self._versions: dict[str, int] = {}
        self.tree = f"{TREES}/{self.session}"
        self._tree_made = False
        #: The nodes this session's transactions believe exist (in its subtree and the shared
        #: ones), with their versions (-1: not known); the sequential ones it made and may delete.
        self._present: dict[str, int] = {}
        self._sequentials: list[str] = []
        #: The shared nodes the session last found missing.
        self._missing: set[str] = set()
        #: When the client learnt that the service ended its session.
        self.lost_at: float | None = None
        client.add_listener(self._on_state)

    def _on_state(self, state: SessionState) -> None:
        if state is SessionState.LOST and self.lost_at is None:
            self.lost_at = time.monotonic()

    def _watch(self, event: WatchedEvent) -> None:
        notice = WatchNotice(self.session, event.path, event.type, event.timestamp, time.monotonic())
        self.recorder.write("notice", notice)

    def _call(self, op: str, path: str, run: Callable[[Call], Any], **args: Any) -> Call:
        call = Call(self.session, self._index, op, path, time.monotonic(), **args)
        self._index += 1
        self.recorder.write("call", call)
        try:
            call.result = run(call)
            call.ok = True
        except UNKNOWN_OUTCOMES:
            return call  # no response: the call stays recorded without one
        except _MultiFailed as failed:
            call.ok, call.error, call.result = False, failed.error.code, {"failed": failed.index}
        except FaaSKeeperException as err:
            call.ok, call.error = False, err.code
        call.complete = time.monotonic()
        self._record_answer(call)
        return call

    @property
    def expired(self) -> bool:
        """The service ended the session (it seemed dead); later calls would all fail."""
        return self.client.state is SessionState.LOST

    def step(self) -> None:
        """One random call."""
        rng, client = self.rng, self.client
        path = rng.choice(self.nodes)
        data = rng.randbytes(2)
        version = self._versions.get(path, 0) if rng.random() < 0.5 else -1
        watch = self._watch if rng.random() < 0.3 else None
        watched = watch is not None
        choice = rng.random()
        if 0.49 <= choice < 0.80 and rng.random() < 0.3:
            # Reads of the nodes transactions create and delete, too.
            path = rng.choice([*SHARED, *(f"{self.tree}/a{i}" for i in range(OWN_CHILDREN))])
        if choice < 0.05:
            self._burst()
        elif choice < 0.15:
            self._multi()
        elif choice < 0.20:
            self._call("create", path, lambda _: self._created(client.create(path, data)), data=data.hex())
        elif choice < 0.42:
            update = lambda _: self._set(client.set_data(path, data, version))  # noqa: E731
            self._call("set", path, update, data=data.hex(), version=version)
        elif choice < 0.49:
            self._call("delete", path, lambda _: client.delete(path, version), version=version)
        elif choice < 0.68:
            self._read("get", path, lambda: client.get_data_async(path, watch), self._seen, watched)
        elif choice < 0.80:
            self._read("exists", path, lambda: client.exists_async(path, watch), self._seen, watched)
        elif choice < 0.88:
            self._read("children", ROOT, lambda: client.get_children_async(ROOT, watch=watch), _names, watched)
        elif choice < 0.95:
            eph = rng.choice(self.ephemerals)
            make = lambda _: self._created(client.create(eph, b"", ephemeral=True))  # noqa: E731
            self._call("create", eph, make, data="", ephemeral=True)
        else:
            queued = lambda _: self._created(client.create(f"{QUEUE}/s-", b"", sequential=True))  # noqa: E731
            self._call("create", f"{QUEUE}/s-", queued, data="", sequential=True)

    def _multi(self) -> None:
        """A transaction: sets and checks of the shared nodes, creates and deletes in the
        session's own subtree (plus, sometimes, a set or check of a shared node), or creates and
        deletes of the contended nodes."""
        kind = self.rng.random()
        if kind < 0.3:
            ops = self._updates()
        elif kind < 0.75:
            if not self._tree_made:
                self._make_tree()
                return
            ops = self._own_changes()
        else:
            ops = self._shared_changes()
        self._call("multi", ops[0]["path"], lambda _call: self._commit(ops), ops=ops)

    def _updates(self) -> list[dict[str, Any]]:
        """Set_datas of two or three nodes, each conditional or not, and sometimes a check of another."""
        rng = self.rng
        present = [p for p in self.nodes if p not in self._missing]
        pool = present if len(present) >= 2 else self.nodes
        chosen = rng.sample(pool, min(len(pool), rng.randint(2, 3)))
        ops: list[dict[str, Any]] = []
        for path in chosen:
            if ops and rng.random() < 0.25:
                ops.append(self._check_op(path))
            else:
                ops.append(self._set_op(path))
        return ops

    def _set_op(self, path: str) -> dict[str, Any]:
        version = self._versions.get(path, 0) if self.rng.random() < 0.5 else -1
        return {"op": "set", "path": path, "data": self.rng.randbytes(2).hex(), "version": version}

    def _check_op(self, path: str) -> dict[str, Any]:
        return {"op": "check", "path": path, "version": self._versions.get(path, 0) if self.rng.random() < 0.5 else -1}

    def _make_tree(self) -> None:
        made = self._call("create", self.tree, lambda _: self._created(self.client.create(self.tree)), data="")
        self._tree_made = bool(made.ok) or made.error == "NodeExists"

    def _own_changes(self) -> list[dict[str, Any]]:
        """Two to four creates, deletes and sets in the session's subtree, each valid where the
        ones before leave it as far as the session knows (one in ten is not); sometimes a set or
        check of a shared node."""
        rng = self.rng
        present = dict(self._present)
        used: set[str] = set()
        ops: list[dict[str, Any]] = []
        mine = [f"{self.tree}/a{i}" for i in range(OWN_CHILDREN)]
        for _ in range(rng.randint(2, 4)):
            choice = rng.random()
            free = [p for p in mine if p not in used]
            made = [p for p in self._sequentials if p.startswith(self.tree) and p in present and p not in used]
            if choice < 0.3 or not free:
                ops.append(_create_op(f"{self.tree}/s-", ephemeral=rng.random() < 0.2, sequential=True))
                continue
            if choice < 0.4 and made:
                path = rng.choice(made)
                ops.append({"op": "delete", "path": path, "version": present.pop(path)})
                used.add(path)
                continue
            path = rng.choice(free)
            used.add(path)
            exists = (path in present) != (rng.random() < 0.1)  # now and then, an op that fails
            if choice < 0.8:
                if exists:
                    ops.append({"op": "delete", "path": path, "version": present.pop(path, -1)})
                else:
                    ops.append(_create_op(path, ephemeral=rng.random() < 0.3))
                    present[path] = 0
            elif exists:
                ops.append({**self._set_op(path), "version": present.get(path, -1)})
            else:
                ops.append({"op": "check", "path": self.tree, "version": 0})
        if rng.random() < 0.2:
            shared = rng.choice(self.nodes)
            ops.append(self._set_op(shared) if rng.random() < 0.5 else self._check_op(shared))
        return ops

    def _shared_changes(self) -> list[dict[str, Any]]:
        """A create or delete of a contended node, a sequential create beside it, sometimes the
        delete of a sequential node the session made there, a set or a check of a shared node."""
        rng = self.rng
        path = rng.choice(SHARED)
        ops: list[dict[str, Any]]
        if path in self._present:
            ops = [{"op": "delete", "path": path, "version": self._present[path] if rng.random() < 0.5 else -1}]
        else:
            ops = [_create_op(path, ephemeral=rng.random() < 0.2)]
        if rng.random() < 0.6:
            ops.append(_create_op(f"{SHARED_SEQUENTIAL}/s-", sequential=True))
        made = [p for p in self._sequentials if p.startswith(SHARED_SEQUENTIAL) and p in self._present]
        if made and rng.random() < 0.4:
            ops.append({"op": "delete", "path": rng.choice(made), "version": -1})
        if rng.random() < 0.4:
            shared = rng.choice(self.nodes)
            ops.append(self._set_op(shared) if rng.random() < 0.5 else self._check_op(shared))
        rng.shuffle(ops)
        return ops

    def _commit(self, ops: list[dict[str, Any]]) -> dict[str, Any]:
        """Commit ``ops`` as one transaction; its result, or _MultiFailed naming the failing op.
        What the session believes exists follows what the transaction did, or what its failure showed."""
        txn = self.client.transaction()
        for op in ops:
            if op["op"] == "check":
                txn.check(op["path"], op["version"])
            elif op["op"] == "set":
                txn.set_data(op["path"], bytes.fromhex(op["data"]), op["version"])
            elif op["op"] == "create":
                txn.create(op["path"], bytes.fromhex(op["data"]), op["ephemeral"], op["sequential"])
            else:
                txn.delete(op["path"], op["version"])
        for op in ops:  # not known until it is answered
            if op["op"] in ("create", "delete"):
                self._present.pop(op["path"], None)
        results = txn.commit()
        for index, result in enumerate(results):
            if isinstance(result, FaaSKeeperException) and not isinstance(result, NOT_RUN):
                self._learn(ops[index], result)
                raise _MultiFailed(index, result)
        versions = [r.version if isinstance(r, Stat) else None for r in results]
        made = [r if op["op"] == "create" else None for op, r in zip(ops, results, strict=True)]
        for op, version, path in zip(ops, versions, made, strict=True):
            if version is not None:
                self._versions[op["path"]] = version
                self._present[op["path"]] = version
            elif path is not None:
                self._present[path] = 0
                if op["sequential"]:
                    self._sequentials.append(path)
            elif op["op"] == "delete":
                self._present.pop(op["path"], None)
        stats = [r for r in results if isinstance(r, Stat)]
        return {"txn": stats[0].mzxid if stats else None, "versions": versions, "paths": made}

    def _learn(self, op: dict[str, Any], error: FaaSKeeperException) -> None:
        """What a transaction's failing op showed of its node."""
        if error.code == "NodeExists" and not op.get("sequential"):
            self._present[op["path"]] = -1
        elif error.code == "NoNode" and op["op"] != "create":
            self._present.pop(op["path"], None)

    def _burst(self) -> None:
        """A few set_data calls issued at once, without waiting. Their responses are recorded by
        their callbacks, which run in completion order, before the session's next call."""
        futures = [self._write_async() for _ in range(self.rng.randint(2, 4))]
        self._await(futures)

    def _write_async(self, *, ephemerals: bool = False) -> tuple[Future[Node], threading.Event] | None:
        """One set_data (or, with ``ephemerals``, sometimes an ephemeral create) issued without
        waiting, its response recorded by its callback; None if it was refused unsent."""
        if ephemerals and self.rng.random() < 0.5:
            path = self.rng.choice(self.ephemerals)
            call = Call(self.session, self._index, "create", path, time.monotonic(), data="", ephemeral=True)

            def issue() -> Future[Node]:
                return self.client.create_async(path, b"", ephemeral=True)
        else:
            path, data = self.rng.choice(self.nodes), self.rng.randbytes(2)
            call = Call(self.session, self._index, "set", path, time.monotonic(), data=data.hex())

            def issue() -> Future[Node]:
                return self.client.set_data_async(path, data)

        self._index += 1
        self.recorder.write("call", call)
        recorded = threading.Event()
        try:
            future = issue()
        except FaaSKeeperException as err:  # refused before it was sent: the session ended or is closing
            # Not a response of the service, so it takes no place among the session's responses.
            call.ok, call.error, call.complete = False, err.code, time.monotonic()
            self.recorder.write("call", call)
            return None
        future.add_callback(lambda done: self._answered(call, done, recorded))
        return future, recorded

    def _await(self, futures: list[tuple[Future[Node], threading.Event] | None]) -> None:
        for issued in futures:
            if issued is None:
                continue
            future, recorded = issued
            with contextlib.suppress(TimeoutException):
                future.wait(self.client_timeout)
            if future.done():
                recorded.wait(self.client_timeout)

    def _answered(self, call: Call, future: Future[Node], recorded: threading.Event) -> None:
        try:
            error = future.exception()
            if isinstance(error, FaaSKeeperException) and not isinstance(error, UNKNOWN_OUTCOMES):
                call.ok, call.error = False, error.code
            elif error is None:
                result = future.get()
                call.ok, call.result = True, self._created(result) if call.op == "create" else self._set(result)
            else:
                return
            call.complete = time.monotonic()
            self._record_answer(call)
        finally:
            recorded.set()

    def _record_answer(self, call: Call) -> None:
        self._note_presence(call)
        with self._order:
            call.completed = self._completed
            self._completed += 1
        self.recorder.write("call", call)

    def _read(
        self, op: str, path: str, issue: Callable[[], Future[object]], convert: Callable[[Any], Any], watched: bool
    ) -> None:
        """A read, answered when its result reaches the client's callbacks: after the callback of
        every notification it waited for (watch-before-data is about what the client's code sees,
        and a synchronous read may return before the callbacks that come before it have run)."""
        call = Call(self.session, self._index, op, path, time.monotonic(), watch=watched)
        self._index += 1
        self.recorder.write("call", call)
        try:
            future = issue()
        except FaaSKeeperException as err:  # refused before it was sent: the session ended or is closing
            call.ok, call.error, call.complete = False, err.code, time.monotonic()
            self.recorder.write("call", call)
            return
        answered = threading.Event()
        stamps: list[float] = []

        def stamp(_done: Future[object]) -> None:
            stamps.append(time.monotonic())
            answered.set()

        future.add_callback(stamp)
        if not answered.wait(self.client_timeout):
            return  # no response: the call stays recorded without one
        error = future.exception()
        if isinstance(error, UNKNOWN_OUTCOMES):
            return
        if isinstance(error, FaaSKeeperException):
            call.ok, call.error = False, error.code
        elif error is None:
            call.ok, call.result = True, convert(future.get())
        else:
            raise error
        call.complete = stamps[0]
        self._record_answer(call)

    def _note_presence(self, call: Call) -> None:
        """What an answered call showed of whether its node exists (transactions choose by it)."""
        if call.op == "multi":
            return
        gone = call.op in ("delete", "exists") and call.ok and not call.result
        if gone or (call.error == "NoNode" and call.op != "create"):
            self._missing.add(call.path)
        elif call.ok or call.error == "NodeExists":
            self._missing.discard(call.path)

    def _created(self, node: Node) -> dict[str, Any]:
        self._versions[node.path] = 0
        return {"path": node.path, "czxid": node.stat.czxid}

    def _set(self, node: Node) -> dict[str, Any]:
        self._versions[node.path] = node.stat.version
        return {"version": node.stat.version, "mzxid": node.stat.mzxid}

    def _seen(self, node: Node | None) -> dict[str, Any] | None:
        if node is not None:
            self._versions[node.path] = node.stat.version
        return _node(node)

    def close(self, *, writing: bool = False) -> None:
        """Close the session; if the close is not answered, the session ends some time later.

        ``writing``: another thread keeps issuing writes (set_data, ephemeral creates) while the
        session closes, until one is refused; a stop that does not wait for the close's answer
        is as likely as one that does."""
        writes: list[tuple[Future[Node], threading.Event] | None] = []
        writer = threading.Thread(target=self._write_until_refused, args=(writes,), name="soak-closing-writes")
        if writing:
            writer.start()
            time.sleep(self.rng.uniform(0.0, 0.01))
        expired = self.lost_at is not None
        began = time.monotonic()
        timeout = 0.0 if writing and self.rng.random() < 0.5 else None
        try:
            self.client.stop(timeout=timeout)
            answered = True
        except FaaSKeeperException:  # not answered: the session ends when the close is processed
            answered = False
        if writing:
            writer.join(self.client_timeout)
            self._await(writes)
        if expired and self.lost_at is not None:
            self.recorder.write("end", SessionEnd(self.session, "expired", self.lost_at))
        elif answered and timeout is None:
            self.recorder.write("end", SessionEnd(self.session, "closed", time.monotonic(), since=began))
        else:
            self.recorder.write("end", SessionEnd(self.session, "lost"))

    def _write_until_refused(self, writes: list[tuple[Future[Node], threading.Event] | None]) -> None:
        for _ in range(8):
            issued = self._write_async(ephemerals=True)
            writes.append(issued)
            if issued is None:
                return


def _create_op(path: str, *, ephemeral: bool = False, sequential: bool = False) -> dict[str, Any]:
    return {"op": "create", "path": path, "data": "", "ephemeral": ephemeral, "sequential": sequential}


def _names(children: list[Node]) -> list[str]:
    return [paths.name(n.path) for n in children]


def prepare(client: FaaSKeeperClient) -> None:
    """Create the workload's parents, if missing."""
    for path in (ROOT, QUEUE, TREES, SHARED_SEQUENTIAL):
        if client.exists(path) is None:
            try:
                client.create(path)
            except FaaSKeeperException:
                if client.exists(path) is None:
                    raise


def snapshot(client: FaaSKeeperClient) -> dict[str, dict[str, Any]]:
    """The workload's nodes now (for the history's final record)."""
    found: dict[str, dict[str, Any]] = {}
    parents = [ROOT]
    while parents:
        for child in client.get_children(parents.pop(), include_data=True):
            found[child.path] = {**(_node(child) or {})}
            if child.stat.num_children:
                parents.append(child.path)
    return found


def record_sessions(
    config: Config, sessions: int, calls: int, *, timeout: float = 60.0, join: float = 300.0
) -> History:
    """``sessions`` clients in threads of this process, each making ``calls`` random calls of its
    own seed; their history, with the nodes as they are at the end. A run where a session did not
    finish its calls in ``join`` seconds raises AssertionError."""
    outputs = [io.StringIO() for _ in range(sessions)]

    def session(seed: int, out: io.StringIO) -> None:
        client = FaaSKeeperClient(config, timeout=timeout)
        client.start()
        workload = Workload(client, Recorder(out), random.Random(seed))
        for _ in range(calls):
            workload.step()
        workload.close()

    with FaaSKeeperClient(config, timeout=timeout) as host:
        prepare(host)
        threads = [threading.Thread(target=session, args=(i, out)) for i, out in enumerate(outputs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(join)
        if any(thread.is_alive() for thread in threads):
            raise AssertionError(f"a session did not finish its {calls} calls in {join:.0f} s")
        history = History.from_lines(line for out in outputs for line in out.getvalue().splitlines())
        history.final = snapshot(host)
    return history
