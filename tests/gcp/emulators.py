"""The official Firestore and Pub/Sub emulators in their own processes, on free ports of 127.0.0.1.

They ship with the machine image's Google Cloud SDK (see EMULATORS.md); they cannot be installed
from a package registry, so a missing one fails with a message naming the path it looked for.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

SDK = Path(os.environ.get("FK_GCLOUD_SDK", "/usr/lib/google-cloud-sdk"))
FIRESTORE = SDK / "platform/cloud-firestore-emulator/cloud_firestore_emulator"
PUBSUB = SDK / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"
#: Seconds an emulator may take to say it is ready (a JVM start on a busy 2-core machine).
START_TIMEOUT = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatorMissing(RuntimeError):
    pass


class Emulator:
    """One emulator process; ``host`` is what ``*_EMULATOR_HOST`` takes."""

    def __init__(self, name: str, executable: Path, ready: str, log: Path, *extra: str) -> None:
        if not executable.exists():
            raise EmulatorMissing(
                f"the {name} emulator is not installed: expected {executable} (part of the Google Cloud SDK "
                "in the machine image; set FK_GCLOUD_SDK to another SDK root)"
            )
        self.name = name
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self._log_path = log
        self._log = log.open("w")
        # Its own process group: the launcher scripts start a JVM child that must stop with them.
        self._proc = subprocess.Popen(
            [str(executable), *extra, "--host=127.0.0.1", f"--port={self.port}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while ready not in log.read_text(errors="replace"):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {name} emulator did not start; see {log}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._log.close()


def start_firestore(log: Path) -> Emulator:
    return Emulator("Firestore", FIRESTORE, "Dev App Server is now running", log, "start")


def start_pubsub(log: Path) -> Emulator:
    return Emulator("Pub/Sub", PUBSUB, "Server started", log)


def clear_firestore(emulator: Emulator, project: str) -> None:
    """Delete every document of ``project``'s default database (the emulator's reset endpoint)."""
    url = f"http://{emulator.host}/emulator/v1/projects/{project}/databases/(default)/documents"
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30):
        pass
