"""Helpers of the adversarial tests: deployments with short timeouts, clients in other processes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from faaskeeper.config import Config
from faaskeeper_local.provider import LocalProvider

CLIENT_PROCESS = str(Path(__file__).with_name("client_process.py"))


def local_config(directory: Path, **keys: Any) -> Config:
    """A deployed local config in ``directory``: redeliveries after 1 s, a lock taken over after 1 s."""
    data = {
        "cloud-provider": "local",
        "deployment-name": "adversarial",
        "local": {"path": str(directory), "lock-max-hold": 1, "visibility-timeout": 1},
        **keys,
    }
    return LocalProvider().deploy(Config.deserialize(data))


class ClientProcess:
    """A client process (``client_process.py``) and the events it printed."""

    def __init__(self, config: Config, action: str, argument: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, CLIENT_PROCESS, json.dumps(config.serialize()), action, argument],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []

    def next_event(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"the client process exited: {self.process.stderr.read() if self.process.stderr else ''}"
        event: dict[str, Any] = json.loads(line)
        self.events.append(event)
        return event

    def wait_for(self, kind: str) -> dict[str, Any]:
        while True:
            event = self.next_event()
            if event["event"] == kind:
                return event

    def finish(self, timeout: float = 60) -> list[dict[str, Any]]:
        """Every event until the process exits."""
        out, err = self.process.communicate(timeout=timeout)
        self.events.extend(json.loads(line) for line in out.splitlines() if line.strip())
        assert self.process.returncode == 0, err
        return self.events


@pytest.fixture
def client_process() -> Iterator[Callable[[Config, str, str], ClientProcess]]:
    started: list[ClientProcess] = []

    def start(config: Config, action: str, argument: str) -> ClientProcess:
        process = ClientProcess(config, action, argument)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()
