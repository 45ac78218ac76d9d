"""The official Firestore and Pub/Sub emulators in their own processes on 127.0.0.1, for the tests
and for trying the provider without a Google Cloud project:

.. code-block:: console

    python -m faaskeeper_gcp.emulator.servers --firestore-port 8081 --pubsub-port 8085

prints the ``FIRESTORE_EMULATOR_HOST`` and ``PUBSUB_EMULATOR_HOST`` to export and runs until
interrupted. The emulators ship with the Google Cloud SDK (``FK_GCLOUD_SDK``, default
``/usr/lib/google-cloud-sdk``); they cannot be installed from a package registry, so a missing one
fails with a message naming the path it looked for.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
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

    def __init__(self, name: str, executable: Path, ready: str, log: Path, *extra: str, port: int = 0) -> None:
        if not executable.exists():
            raise EmulatorMissing(
                f"the {name} emulator is not installed: expected {executable} (part of the Google Cloud SDK "
                "in the machine image; set FK_GCLOUD_SDK to another SDK root)"
            )
        self.name = name
        self.port = port or free_port()
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


def start_firestore(log: Path, port: int = 0) -> Emulator:
    return Emulator("Firestore", FIRESTORE, "Dev App Server is now running", log, "start", port=port)


def start_pubsub(log: Path, port: int = 0) -> Emulator:
    return Emulator("Pub/Sub", PUBSUB, "Server started", log, port=port)


def clear_firestore(emulator: Emulator, project: str) -> None:
    """Delete every document of ``project``'s default database (the emulator's reset endpoint)."""
    url = f"http://{emulator.host}/emulator/v1/projects/{project}/databases/(default)/documents"
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m faaskeeper_gcp.emulator.servers",
        description="Run the Google Cloud SDK's Firestore and Pub/Sub emulators on 127.0.0.1 until interrupted.",
    )
    parser.add_argument("--firestore-port", type=int, default=0, help="port of Firestore (default: a free one)")
    parser.add_argument("--pubsub-port", type=int, default=0, help="port of Pub/Sub (default: a free one)")
    parser.add_argument("--logs", type=Path, default=Path("gcp-emulators"), help="directory of their logs")
    args = parser.parse_args(argv)
    args.logs.mkdir(parents=True, exist_ok=True)
    started: list[Emulator] = []
    try:
        started.append(start_firestore(args.logs / "firestore.log", args.firestore_port))
        started.append(start_pubsub(args.logs / "pubsub.log", args.pubsub_port))
        firestore, pubsub = started
        print(f"export FIRESTORE_EMULATOR_HOST={firestore.host}", flush=True)
        print(f"export PUBSUB_EMULATOR_HOST={pubsub.host}", flush=True)
        # Blocked only now: the emulators' processes inherit the mask and must stop on SIGTERM.
        stop = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop)
        signal.sigwait(stop)
    except (EmulatorMissing, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        for emulator in reversed(started):
            emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
