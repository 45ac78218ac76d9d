"""Conformance across OS processes: sessions in several processes share one deployment, and
acknowledged writes outlive the processes that made them (kill -9)."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from faaskeeper.api.provider import Capability
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.testing.fixtures import ConformanceFixtures, requires

#: Seconds a worker process may take, beyond the client's own timeout, to start its session or to
#: exit (an interpreter starting or shutting down, a deployment opened or closed) on a loaded machine.
PROCESS_SLACK = 60.0


class WorkerProcess:
    """A client session in another process (:mod:`faaskeeper.testing.worker`)."""

    def __init__(self, config: Config, timeout: float) -> None:
        self._timeout = timeout
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "faaskeeper.testing.worker", json.dumps(config.serialize()), str(timeout)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump, args=(self._process.stdout, self._lines.put), daemon=True).start()
        threading.Thread(target=self._pump, args=(self._process.stderr, self._stderr.append), daemon=True).start()
        self.session_id = str(self._answer(self._timeout + PROCESS_SLACK)["session"])

    @staticmethod
    def _pump(stream: Any, sink: Callable[[str | None], None]) -> None:
        for line in stream:
            sink(line)
        sink(None)

    def _answer(self, wait: float | None = None) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=self._timeout + 10 if wait is None else wait)
        except queue.Empty:
            line = None
        if line is None:
            stderr = "".join(filter(None, self._stderr))
            raise AssertionError(f"the worker process gave no answer; its stderr:\n{stderr}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, op: str, path: str = "/", data: bytes = b"", **options: Any) -> dict[str, Any]:
        """Run one client operation in the worker; fails the test if it raised."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"op": op, "path": path, "data": data.hex(), **options}) + "\n")
        self._process.stdin.flush()
        answer = self._answer()
        assert answer["ok"], f"{op} {path} failed in the worker: {answer}"
        return answer

    def stop(self) -> int:
        """Close the session and wait for the process to exit; its exit code."""
        self.call("stop")
        return self._process.wait(timeout=self._timeout + PROCESS_SLACK)

    def kill(self) -> None:
        """kill -9."""
        self._process.kill()
        self._process.wait(timeout=self._timeout)

    def running(self) -> bool:
        return self._process.poll() is None


class ProcessSuite(ConformanceFixtures):
    """What MULTI_PROCESS and DURABLE promise."""

    @pytest.fixture
    def spawn(self, fk_checked_config: Config) -> Iterator[Callable[[], WorkerProcess]]:
        """``spawn()`` starts a client session in a new process; any still running are killed after the test."""
        workers: list[WorkerProcess] = []

        def start() -> WorkerProcess:
            workers.append(WorkerProcess(fk_checked_config, self.client_timeout))
            return workers[-1]

        yield start
        for worker in workers:
            if worker.running():
                worker.kill()

    @requires(Capability.MULTI_PROCESS)
    def test_processes_share_a_deployment(self, client: FaaSKeeperClient, spawn: Callable[[], WorkerProcess]) -> None:
        client.create("/mp")
        worker = spawn()
        assert worker.session_id != client.session_id
        worker.call("create", "/mp/child", b"from the worker")
        worker.call("create", "/mp/eph", ephemeral=True)
        assert [n.path for n in client.get_children("/mp")] == ["/mp/child", "/mp/eph"]
        assert client.get_data("/mp/child").data == b"from the worker"
        client.set_data("/mp/child", b"from the test")
        assert worker.call("get_data", "/mp/child") == {"ok": True, "data": b"from the test".hex(), "version": 1}
        assert worker.call("set_data", "/mp/child", b"again")["version"] == 2
        assert worker.stop() == 0
        assert client.exists("/mp/eph") is None, "the worker's session closed with its ephemeral node"
        node = client.get_data("/mp/child")
        assert (node.data, node.stat.version) == (b"again", 2)

    @requires(Capability.MULTI_PROCESS, Capability.DURABLE)
    def test_acknowledged_writes_survive_kill(self, spawn: Callable[[], WorkerProcess]) -> None:
        writer = spawn()
        writer.call("create", "/durable", b"first")
        writer.call("set_data", "/durable", b"second")
        writer.kill()
        reader = spawn()
        assert reader.call("get_data", "/durable") == {"ok": True, "data": b"second".hex(), "version": 1}
        assert reader.call("set_data", "/durable", b"third")["version"] == 2, "no lock outlives its writer"
        assert reader.stop() == 0
