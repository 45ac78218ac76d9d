"""What ``fk bench``'s figures were measured with besides the machine: the exact code, the
deployment's configuration and the ZooKeeper server's version, as its JSON and CSV record them."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import faaskeeper
from faaskeeper.config import Config

#: Keys whose values are never recorded, should a config (or an upstream one) hold such a thing.
_SECRET_KEY = re.compile(r"secret|passw|token|credential|(private|access|api)[-_]?key", re.IGNORECASE)
REDACTED = "<redacted>"
#: Seconds a git command may take before the commit is recorded as unknown.
_GIT_TIMEOUT = 10.0


def _git(directory: Path, *args: str) -> str | None:
    """The output of ``git -C directory ARGS``, or None where git is absent, fails or hangs."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        done = subprocess.run(
            [git, "--no-optional-locks", "-C", str(directory), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


@functools.cache
def code_version() -> dict[str, Any]:
    """The FaaSKeeper code that ran: the package version and, run from a git checkout, its commit
    and whether tracked files differ from it (``git_commit`` and ``git_dirty`` None otherwise).

    ``faaskeeper`` joins them as a PEP 440 local version: ``0.1.0+g1a2b3c4d5e6f.dirty``."""
    package = faaskeeper.__version__
    directory = Path(faaskeeper.__file__).resolve().parent
    commit = None
    # The package's own files tracked by git: an installed copy that merely lies inside some
    # checkout (a virtualenv in it) is not that checkout's code.
    if _git(directory, "ls-files", "--error-unmatch", "--", "__init__.py") is not None:
        commit = _git(directory, "rev-parse", "--verify", "HEAD")
    if not commit:
        return {"faaskeeper": package, "faaskeeper_package": package, "git_commit": None, "git_dirty": None}
    # As `git describe --dirty`: changes to tracked files, staged or not; untracked files do not count.
    status = _git(directory, "status", "--porcelain", "--untracked-files=no")
    dirty = None if status is None else bool(status)
    version = f"{package}+g{commit[:12]}" + (".dirty" if dirty else "")
    return {"faaskeeper": version, "faaskeeper_package": package, "git_commit": commit, "git_dirty": dirty}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET_KEY.search(str(k)) else _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and "@" in value and "://" in value:
        parts = urlsplit(value)
        if parts.password is not None:
            netloc = f"{parts.username}:{REDACTED}@{parts.netloc.rsplit('@', 1)[1]}"
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def recorded_config(config: Config) -> dict[str, Any]:
    """The deployment's configuration as the bench records it: the config's keys with the values in
    effect (defaults included) and the provider's section; values of secret-looking keys and
    passwords in URLs are replaced by ``<redacted>`` (credentials belong in the environment)."""
    result: dict[str, Any] = _clean(config.serialize())
    return result


def zookeeper_version(srvr_line: str) -> tuple[str, str | None]:
    """The server's version and build date from the ``Zookeeper version:`` value of ``srvr``.

    ``3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC`` (Debian's build leaves Maven's
    placeholder for the commit unexpanded) gives ``("3.8.0", "2024-12-29 17:54 UTC")``; an
    upstream build keeps its commit: ``3.8.0-5a02a05e...``."""
    version, _, built = srvr_line.partition(",")
    version = re.sub(r"-?\$\{[^}]*\}", "", version).strip()
    built = built.strip()
    built = built[len("built on") :].strip() if built.lower().startswith("built on") else built
    return version, built or None
