"""Damaged deployment files: reported as corruption at once, naming the file; nothing but
``fk deploy`` makes a deployment, and ``fk deploy`` makes one only of a missing file.

The files are damaged by another process: a process that opens and closes a file SQLite has
open drops SQLite's locks on it (POSIX record locks belong to the process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import DeploymentCorruptException
from faaskeeper_deploy.cli import main
from faaskeeper_local.provider import LocalProvider

from .conftest import local_config

CORRUPT = r"The deployment file .*/adversarial/faaskeeper\.sqlite3 is corrupt \({}\): restore it from a copy, or "


def _damage(path: Path, how: str) -> None:
    """Damage the deployment file ``path`` the way ``how`` says, from another process."""
    script = {
        "empty": "p.write_bytes(b'')",
        "truncated-header": "p.write_bytes(p.read_bytes()[:50])",
        "truncated-half": "d = p.read_bytes(); p.write_bytes(d[: len(d) // 2])",
        "overwritten-header": "d = bytearray(p.read_bytes()); d[:16] = b'x' * 16; p.write_bytes(bytes(d))",
        "garbled-pages": "d = bytearray(p.read_bytes()); n = len(d) // 2; d[n : n + 8192] = bytes(range(256)) * 32; "
        "p.write_bytes(bytes(d))",
    }[how]
    subprocess.run([sys.executable, "-c", f"import pathlib; p = pathlib.Path({str(path)!r}); {script}"], check=True)


def _pages(path: Path, table: str) -> tuple[int, list[int]]:
    """The page size and the pages of ``table`` (SQLite's dbstat), read by another process."""
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
        "print([c.execute('PRAGMA page_size').fetchone()[0], "
        f"[p for (p,) in c.execute(\"SELECT pageno FROM dbstat WHERE name = '{table}'\")]])"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    if out.returncode != 0 and "no such table: dbstat" in out.stderr:
        pytest.skip("this SQLite has no dbstat table to find a table's pages")
    assert out.returncode == 0, out.stderr
    page_size, pages = json.loads(out.stdout)
    return int(page_size), [int(page) for page in pages]


def _filled(tmp_path: Path) -> tuple[Config, Path]:
    """A deployment holding 300 nodes, all in its file (the last client closed: no WAL left)."""
    config = local_config(tmp_path)
    with FaaSKeeperClient(config, timeout=30) as client:
        for i in range(300):
            client.create(f"/n{i}", bytes([i % 256]) * 2000)
    return config, tmp_path / "adversarial" / "faaskeeper.sqlite3"


@pytest.mark.parametrize(
    ("how", "cause"),
    [
        ("empty", "an empty file: truncated, or not a FaaSKeeper deployment"),
        ("truncated-header", "database disk image is malformed"),
        ("truncated-half", "database disk image is malformed"),
        ("overwritten-header", "file is not a database"),
        ("garbled-pages", ".*"),  # SQLite's quick check names the damaged tree page
    ],
)
def test_a_damaged_file_is_reported_at_once_and_nothing_but_a_clean_deploy_replaces_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, cause: str
) -> None:
    config, path = _filled(tmp_path)
    _damage(path, how)
    damaged = path.stat().st_size, path.stat().st_mtime_ns
    client = FaaSKeeperClient(config, timeout=30)
    with pytest.raises(DeploymentCorruptException, match=CORRUPT.format(cause)):
        client.start()
    assert client.session_id is None
    config_file = tmp_path / "fk.json"
    config_file.write_text(json.dumps(config.serialize()))
    for command in (["status"], ["status", "--json"], ["deploy", "service"]):
        assert main([*command, "--config", str(config_file)]) == 1
        err = capsys.readouterr().err
        assert err.splitlines()[-1].startswith(f"fk: error: The deployment file {path} is corrupt ("), err
        assert "Traceback" not in err
    assert (path.stat().st_size, path.stat().st_mtime_ns) == damaged, "the damaged file was written"
    assert main(["deploy", "service", "--config", str(config_file), "--clean"]) == 0
    with FaaSKeeperClient(config, timeout=30) as client:
        assert client.get_children("/") == []


def test_damage_met_by_the_functions_fails_the_calls_in_flight_at_once_naming_it(tmp_path: Path) -> None:
    config, path = _filled(tmp_path)
    page_size, nodes = _pages(path, "system_nodes")
    client = FaaSKeeperClient(config, timeout=60)
    client.start()  # checks the file: sound
    _damage_pages(path, [page for page in nodes if page > 2], page_size)
    # A checkpoint by another process changes the WAL's header, so this process reads the pages
    # again instead of keeping those it cached.
    _checkpoint(path)
    in_flight = client.set_data_async("/n1", b"changed")
    with pytest.raises(DeploymentCorruptException, match=CORRUPT.format(".*")):
        in_flight.get(50)  # well before the client's 60 s timeout
    with pytest.raises(DeploymentCorruptException, match=CORRUPT.format(".*")):
        client.create("/later", b"")
    with pytest.raises(DeploymentCorruptException):
        client.stop()


def _damage_pages(path: Path, pages: list[int], page_size: int) -> None:
    code = (
        "import sys; p, size = sys.argv[1], int(sys.argv[2]); f = open(p, 'r+b')\n"
        "for page in map(int, sys.argv[3:]):\n"
        "    f.seek((page - 1) * size); f.write(bytes(range(256)) * (size // 256))\n"
        "f.close()"
    )
    subprocess.run([sys.executable, "-c", code, str(path), str(page_size), *map(str, pages)], check=True)


def _checkpoint(path: Path) -> None:
    code = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA wal_checkpoint(RESTART)')"
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)


def test_a_damaged_file_is_never_made_a_deployment_by_opening_it(tmp_path: Path) -> None:
    """Opening an empty file in WAL mode would write its first page: the file stays as it was."""
    config = local_config(tmp_path)
    path = tmp_path / "adversarial" / "faaskeeper.sqlite3"
    LocalProvider().remove(config)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    for attempt in (LocalProvider().open, LocalProvider().status):
        with pytest.raises(
            DeploymentCorruptException, match=CORRUPT.format("an empty file: truncated, or not a FaaSKeeper deployment")
        ):
            attempt(config)
    assert path.read_bytes() == b""
    assert sorted(p.name for p in path.parent.iterdir()) == ["faaskeeper.sqlite3"]
