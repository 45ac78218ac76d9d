"""Random client calls on a few nodes, each recorded (invocation, then response) as it happens.

Every record is a line written and flushed at once, so a process killed mid-call leaves the call
recorded without a response. Nodes: ``ROOT/n0..`` (create, set with and without versions, delete,
get, exists, watches), ``ROOT/e0..`` (ephemeral creates, contended between sessions), and
``ROOT/q`` (sequential creates); ``get_children`` of ``ROOT`` with and without watches.
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
        #: When the client learnt that the service ended its session.
        self.lost_at: float | None = None
        client.add_listener(self._on_state)

    def _on_state(self, state: SessionState) -> None:
        if state is SessionState.LOST and self.lost_at is None:
            self.lost_at = time.monotonic()

    def _watch(self, event: WatchedEvent) -> None:
        notice = WatchNotice(self.session, event.path, event.type, event.timestamp, time.monotonic())
        self.recorder.write("notice", notice)

    def _call(self, op: str, path: str, run: Callable[[Call], Any], **args: Any) -> None:
        call = Call(self.session, self._index, op, path, time.monotonic(), **args)
        self._index += 1
        self.recorder.write("call", call)
        try:
            call.result = run(call)
            call.ok = True
        except UNKNOWN_OUTCOMES:
            return  # no response: the call stays recorded without one
        except _MultiFailed as failed:
            call.ok, call.error, call.result = False, failed.error.code, {"failed": failed.index}
        except FaaSKeeperException as err:
            call.ok, call.error = False, err.code
        call.complete = time.monotonic()
        self._record_answer(call)

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
        if choice < 0.05:
            self._burst()
        elif choice < 0.09:
            self._multi()
        elif choice < 0.15:
            self._call("create", path, lambda _: self._created(client.create(path, data)), data=data.hex())
        elif choice < 0.40:
            update = lambda _: self._set(client.set_data(path, data, version))  # noqa: E731
            self._call("set", path, update, data=data.hex(), version=version)
        elif choice < 0.48:
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
        """A transaction: set_datas of two or three nodes, each conditional or not, and
        sometimes a check of another."""
        rng = self.rng
        chosen = rng.sample(self.nodes, min(len(self.nodes), rng.randint(2, 3)))
        ops: list[dict[str, Any]] = []
        for path in chosen:
            version = self._versions.get(path, 0) if rng.random() < 0.5 else -1
            if ops and rng.random() < 0.25:
                ops.append({"op": "check", "path": path, "version": version})
            else:
                ops.append({"op": "set", "path": path, "data": rng.randbytes(2).hex(), "version": version})

        def run(_call: Call) -> dict[str, Any]:
            txn = self.client.transaction()
            for op in ops:
                if op["op"] == "check":
                    txn.check(op["path"], op["version"])
                else:
                    txn.set_data(op["path"], bytes.fromhex(op["data"]), op["version"])
            results = txn.commit()
            for index, result in enumerate(results):
                if isinstance(result, FaaSKeeperException) and not isinstance(result, NOT_RUN):
                    raise _MultiFailed(index, result)
            versions = [r.version if isinstance(r, Stat) else None for r in results]
            for op, version in zip(ops, versions, strict=True):
                if version is not None:
                    self._versions[op["path"]] = version
            stats = [r for r in results if isinstance(r, Stat)]
            return {"txn": stats[0].mzxid if stats else 0, "versions": versions}

        self._call("multi", ops[0]["path"], run, ops=ops)

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


def _names(children: list[Node]) -> list[str]:
    return [paths.name(n.path) for n in children]


def prepare(client: FaaSKeeperClient) -> None:
    """Create the workload's parents, if missing."""
    for path in (ROOT, QUEUE):
        if client.exists(path) is None:
            try:
                client.create(path)
            except FaaSKeeperException:
                if client.exists(path) is None:
                    raise


def snapshot(client: FaaSKeeperClient) -> dict[str, dict[str, Any]]:
    """The workload's nodes now (for the history's final record)."""
    found: dict[str, dict[str, Any]] = {}
    for parent in (ROOT, QUEUE):
        for child in client.get_children(parent, include_data=True):
            if child.path != QUEUE:
                found[child.path] = {**(_node(child) or {})}
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
