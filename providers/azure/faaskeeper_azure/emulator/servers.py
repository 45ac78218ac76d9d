"""The Azure emulators in their own processes on 127.0.0.1, for the tests and for trying the
provider without a subscription:

.. code-block:: console

    python -m faaskeeper_azure.emulator.servers

installs the npm packages if they are missing (``npm ci`` in ``providers/azure/emulator``, from
its ``package-lock.json``: Azurite and ``@vercel/cosmosdb-server``), starts Azurite (blob, queue,
table; in memory) and the Cosmos DB server behind the project's launcher (``cosmos.js``, which
makes it answer as Cosmos DB does where it departs), on free ports unless given, prints the
variables to export (or the ``"azure"`` config section to use) and runs until interrupted. With
``--install`` it only installs the packages (``./tools/test`` does, before the tests).

Both emulators are Node programs: without ``node`` and ``npm`` on the PATH they cannot run, and
:class:`EmulatorMissing` says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from faaskeeper_azure.names import ENV_COSMOS_ENDPOINT, ENV_COSMOS_KEY, ENV_STORAGE_CONNECTION_STRING

#: The folder of ``package.json``, ``package-lock.json`` and ``cosmos.js`` (``FK_AZURE_EMULATOR_DIR``
#: names another, for an installed faaskeeper-azure without the source tree).
EMULATOR_DIR = Path(os.environ.get("FK_AZURE_EMULATOR_DIR", Path(__file__).resolve().parents[2] / "emulator"))
#: The certificate the Cosmos DB server serves (made on its first start, then kept), which clients
#: of an endpoint on 127.0.0.1 trust.
COSMOS_CERTIFICATE = EMULATOR_DIR / "tls" / "cert.pem"
#: Seconds an emulator may take to answer (a Node start on a busy 2-core machine).
START_TIMEOUT = 60.0
#: Seconds ``npm ci`` may take (about 35 s on a quiet machine).
INSTALL_TIMEOUT = 600.0
#: Azurite's development account and its well-known key (public: printed in Azure's documentation).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
#: The Cosmos DB emulator's well-known key; the server accepts any, the SDK wants base64.
COSMOS_KEY = "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
_COSMOS_READY = "Ready to accept HTTPS connections at "


class EmulatorMissing(RuntimeError):
    """The emulators cannot run here: node or npm is missing, or their packages failed to install."""


class NodeMissing(EmulatorMissing):
    """``node`` or ``npm`` is not on the PATH."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise NodeMissing(
            f"{name} is not on the PATH: the Azure emulators (Azurite and the Cosmos DB server) are Node programs; "
            "install Node.js 20 or later with npm (e.g. apt-get install nodejs npm)"
        )
    return found


def installed(folder: Path = EMULATOR_DIR) -> bool:
    """Whether ``npm ci`` ran in ``folder`` since its lockfile last changed."""
    stamp = folder / "node_modules" / ".package-lock.json"
    return stamp.is_file() and stamp.stat().st_mtime >= (folder / "package-lock.json").stat().st_mtime


def install(folder: Path = EMULATOR_DIR) -> None:
    """``npm ci`` in ``folder`` unless done already; EmulatorMissing naming what is missing."""
    node = _tool("node")
    npm = _tool("npm")
    if not (folder / "package-lock.json").is_file():
        raise EmulatorMissing(f"no package-lock.json in {folder} (set FK_AZURE_EMULATOR_DIR to the emulators' folder)")
    if installed(folder):
        return
    print(f"installing the Azure emulators' npm packages in {folder} (npm ci) ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            env={**os.environ, "PATH": f"{Path(node).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
        )
    except subprocess.TimeoutExpired as err:
        raise EmulatorMissing(f"npm ci in {folder} took more than {INSTALL_TIMEOUT:.0f} s") from err
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise EmulatorMissing(f"npm ci in {folder} failed (is the npm registry reachable?):\n{tail}")


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


class Server:
    """One emulator process, its output in ``log``; stopped with its children."""

    def __init__(self, name: str, command: list[str], log: Path, cwd: Path) -> None:
        self.name = name
        self.log_path = log
        self._log = log.open("w")
        # Its own process group, so that stop() ends whatever it started too.
        self._proc = subprocess.Popen(
            command, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def running(self) -> bool:
        return self._proc.poll() is None

    def wait_until(self, ready: Callable[[], bool], timeout: float = START_TIMEOUT) -> None:
        """Until ``ready()`` is true; RuntimeError pointing at the log if the process ends or time runs out."""
        deadline = time.monotonic() + timeout
        while not ready():
            if not self.running() or time.monotonic() > deadline:
                self.stop()
                output = self.log_path.read_text(errors="replace").strip().splitlines()[-10:]
                raise RuntimeError(f"{self.name} did not start; see {self.log_path}:\n" + "\n".join(output))
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


@dataclass
class Azurite:
    server: Server
    blob_port: int
    queue_port: int
    table_port: int

    @property
    def connection_string(self) -> str:
        base = f"http://127.0.0.1:{{}}/{AZURITE_ACCOUNT}"
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={base.format(self.blob_port)};QueueEndpoint={base.format(self.queue_port)};"
            f"TableEndpoint={base.format(self.table_port)};"
        )


@dataclass
class Cosmos:
    server: Server
    port: int
    key: str = COSMOS_KEY

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"


def start_azurite(
    log: Path, workspace: Path, ports: tuple[int, int, int] = (0, 0, 0), folder: Path = EMULATOR_DIR
) -> Azurite:
    """Azurite's blob, queue and table services, in memory, run in ``workspace`` (where it may leave a file)."""
    blob, queue, table = (port or free_port() for port in ports)
    command = [
        _tool("node"),
        str(folder / "node_modules" / "azurite" / "dist" / "src" / "azurite.js"),
        "--silent",
        "--skipApiVersionCheck",
        "--disableTelemetry",
        "--inMemoryPersistence",
        "--blobHost", "127.0.0.1", "--blobPort", str(blob),
        "--queueHost", "127.0.0.1", "--queuePort", str(queue),
        "--tableHost", "127.0.0.1", "--tablePort", str(table),
    ]  # fmt: skip
    server = Server("Azurite", command, log, workspace)
    server.wait_until(lambda: all(_answers(port) for port in (blob, queue, table)))
    return Azurite(server, blob, queue, table)


def start_cosmos(log: Path, port: int = 0, folder: Path = EMULATOR_DIR) -> Cosmos:
    """The Cosmos DB server behind ``cosmos.js``, over HTTPS with the certificate it keeps."""
    command = [_tool("node"), str(folder / "cosmos.js"), "--host", "127.0.0.1", "--port", str(port)]
    server = Server("the Cosmos DB server", command, log, folder)
    found: list[int] = []

    def ready() -> bool:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(_COSMOS_READY):
                found.append(int(line.rpartition(":")[2]))
                return True
        return False

    server.wait_until(ready)
    return Cosmos(server, found[0])


@dataclass
class Emulators:
    """Both emulators, running; :meth:`environment` is what the provider reads to reach them."""

    azurite: Azurite
    cosmos: Cosmos

    def environment(self) -> dict[str, str]:
        return {
            ENV_COSMOS_ENDPOINT: self.cosmos.endpoint,
            ENV_COSMOS_KEY: self.cosmos.key,
            ENV_STORAGE_CONNECTION_STRING: self.azurite.connection_string,
        }

    def config_section(self) -> dict[str, str]:
        """The ``"azure"`` config section that points a deployment at these emulators."""
        return {
            "cosmos-endpoint": self.cosmos.endpoint,
            "cosmos-key": self.cosmos.key,
            "storage-connection-string": self.azurite.connection_string,
        }

    def stop(self) -> None:
        self.cosmos.server.stop()
        self.azurite.server.stop()


@contextmanager
def running(
    logs: Path, *, azurite_ports: tuple[int, int, int] = (0, 0, 0), cosmos_port: int = 0, folder: Path = EMULATOR_DIR
) -> Iterator[Emulators]:
    """Install the npm packages if needed, start both emulators, and stop them on leaving."""
    install(folder)
    logs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fk-azurite-") as workspace:
        azurite = start_azurite(logs / "azurite.log", Path(workspace), azurite_ports, folder)
        try:
            cosmos = start_cosmos(logs / "cosmos.log", cosmos_port, folder)
        except BaseException:
            azurite.server.stop()
            raise
        emulators = Emulators(azurite, cosmos)
        try:
            yield emulators
        finally:
            emulators.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m faaskeeper_azure.emulator.servers",
        description="Run Azurite and the Cosmos DB server on 127.0.0.1 until interrupted.",
    )
    parser.add_argument("--cosmos-port", type=int, default=0, help="port of Cosmos DB (default: a free one)")
    parser.add_argument("--blob-port", type=int, default=0, help="port of Azurite's blob service (default: a free one)")
    parser.add_argument("--queue-port", type=int, default=0, help="port of Azurite's queues (default: a free one)")
    parser.add_argument("--table-port", type=int, default=0, help="port of Azurite's tables (default: a free one)")
    parser.add_argument("--logs", type=Path, default=Path("azure-emulators"), help="directory of their logs")
    parser.add_argument("--install", action="store_true", help="only install the npm packages (npm ci), then exit")
    args = parser.parse_args(argv)
    ports = (args.blob_port, args.queue_port, args.table_port)
    try:
        if args.install:
            install()
            return 0
        with running(args.logs, azurite_ports=ports, cosmos_port=args.cosmos_port) as emulators:
            for name, value in emulators.environment().items():
                print(f"export {name}='{value}'", flush=True)
            print("# or, in the client config:", flush=True)
            print(f'"azure": {json.dumps(emulators.config_section())}', flush=True)
            # Blocked only now: the emulators' processes inherit the mask and must stop on SIGTERM.
            stop = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)
            signal.sigwait(stop)
    except (EmulatorMissing, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
