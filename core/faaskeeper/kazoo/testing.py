"""A pytest plugin that gives kazoo's test harness FaaSKeeper instead of a ZooKeeper cluster.

With ``-p faaskeeper.kazoo.testing`` (or in ``pytest_plugins``), every
``kazoo.testing.KazooTestHarness`` / ``KazooTestCase`` of the run, kazoo's own recipe tests
included, gets :class:`faaskeeper.kazoo.KazooClient` clients of a fresh local FaaSKeeper deployment
per test, under a chroot of its own as kazoo's harness makes; ``expire_session`` and
``lose_connection`` make the session stop answering heartbeats, so the service really suspends
and expires it. Tests that cannot pass on FaaSKeeper are listed in :data:`CANNOT_PASS` with why,
and skipped with that reason."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kazoo.exceptions import KazooException
from kazoo.testing import harness

from faaskeeper.config import Config
from faaskeeper.kazoo.client import KazooClient
from faaskeeper.plugins.manager import get_provider

#: Heartbeats and session timeout of the test deployments: a session the harness expires is
#: expired within its 5 s wait, and one that is merely slow on a loaded machine is not.
HEARTBEAT = 0.5
SESSION_TIMEOUT = 3.0

#: kazoo tests that cannot pass on FaaSKeeper, by ``module.Class.test``, with the reason.
CANNOT_PASS: dict[str, str] = {}


def deploy_local(directory: Path) -> Config:
    """A fresh local deployment in ``directory``, with the test heartbeat and session timeout."""
    config = Config.deserialize(
        {
            "cloud-provider": "local",
            "deployment-name": "kazoo",
            "heartbeat-frequency": HEARTBEAT,
            "session-timeout": SESSION_TIMEOUT,
            "local": {"path": str(directory)},
        }
    )
    return get_provider("local").deploy(config)


def _setup_zookeeper(self: Any, **client_options: Any) -> None:
    self._fk_directory = Path(tempfile.mkdtemp(prefix="kazoo-on-faaskeeper-"))
    self._fk_config = deploy_local(self._fk_directory)
    self._fk_namespace = "/kazootests" + uuid.uuid4().hex
    self.hosts = self._fk_namespace
    self.client = self._get_client(**client_options)
    self.client.start()
    self.client.ensure_path("/")


def _get_client(self: Any, **client_options: Any) -> KazooClient:
    client = KazooClient(self._fk_config, chroot=self._fk_namespace, **client_options)
    self._clients.append(client)
    return client


def _get_nonchroot_client(self: Any) -> KazooClient:
    client = KazooClient(self._fk_config, chroot="")
    self._clients.append(client)
    return client


def _teardown_zookeeper(self: Any) -> None:
    while self._clients:
        client = self._clients.pop()
        try:
            client.stop()
        except KazooException:
            harness.log.exception("Failed stopping client %s", client)
        finally:
            client.close()
    self.client = None
    directory = getattr(self, "_fk_directory", None)
    if directory is not None:
        get_provider("local").remove(self._fk_config)
        shutil.rmtree(directory, ignore_errors=True)
        self._fk_directory = None


def _no_cluster(self: Any) -> Any:
    raise RuntimeError("kazoo's harness runs on FaaSKeeper here: there is no ZooKeeper cluster or server address")


_REPLACEMENTS: dict[str, object] = {
    "setup_zookeeper": _setup_zookeeper,
    "teardown_zookeeper": _teardown_zookeeper,
    "_get_client": _get_client,
    "_get_nonchroot_client": _get_nonchroot_client,
    "cluster": property(_no_cluster),
    "servers": property(_no_cluster),
    "secure_servers": property(_no_cluster),
}


def install() -> Callable[[], None]:
    """Make kazoo's harness use FaaSKeeper; returns the function that puts ZooKeeper back."""
    cls = harness.KazooTestHarness
    saved = {name: cls.__dict__[name] for name in _REPLACEMENTS}
    saved_cluster = harness.get_global_cluster
    for name, replacement in _REPLACEMENTS.items():
        setattr(cls, name, replacement)
    harness.get_global_cluster = lambda: None  # KazooTestCase.tearDownClass stops "the cluster"

    def uninstall() -> None:
        for name, original in saved.items():
            setattr(cls, name, original)
        harness.get_global_cluster = saved_cluster

    return uninstall


def kazoo_test_name(item: pytest.Item) -> str | None:
    """``module.Class.test`` of a test defined in a kazoo harness class, else None."""
    cls = getattr(item, "cls", None)
    if cls is None or not issubclass(cls, harness.KazooTestHarness):
        return None
    return f"{cls.__module__}.{cls.__qualname__}.{getattr(item, 'originalname', item.name)}"


_UNINSTALL = pytest.StashKey[Callable[[], None]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_UNINSTALL] = install()


def pytest_unconfigure(config: pytest.Config) -> None:
    uninstall = config.stash.get(_UNINSTALL, None)
    if uninstall is not None:
        uninstall()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = kazoo_test_name(item)
        if name is None:
            continue
        if name in CANNOT_PASS:
            item.add_marker(pytest.mark.skip(reason=f"cannot pass on FaaSKeeper: {CANNOT_PASS[name]}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Close what a harness test left open: a tearDown that does not call the harness's (kazoo's
    lease tests) leaves its clients connected, which on ZooKeeper the cluster's end closes."""
    instance = getattr(item, "instance", None)
    if isinstance(instance, harness.KazooTestHarness) and (
        instance._clients or getattr(instance, "_fk_directory", None) is not None
    ):
        instance.teardown_zookeeper()
