"""An Azurite queue service for the queue tests, on a free port (until the provider's emulator
launcher serves every Azure test)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ACCOUNT = "devstoreaccount1"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def azure_storage_connection_string() -> Iterator[str]:
    azurite = shutil.which("azurite-queue") or os.environ.get("FK_AZURITE_QUEUE", "")
    if not azurite or not Path(azurite).exists():
        pytest.skip("azurite-queue is not installed (npm install azurite@3.37.0; set FK_AZURITE_QUEUE)")
    port = _free_port()
    server = subprocess.Popen(
        [
            azurite,
            "--silent",
            "--skipApiVersionCheck",
            "--inMemoryPersistence",
            "--queueHost",
            "127.0.0.1",
            "--queuePort",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("Azurite's queue service did not start")
            time.sleep(0.2)
    yield (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
        f"QueueEndpoint=http://127.0.0.1:{port}/{ACCOUNT};"
    )
    server.kill()  # Azurite ignores SIGTERM while it has open connections
    server.wait(10)
