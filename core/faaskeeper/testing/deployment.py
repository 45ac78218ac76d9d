"""Conformance of a provider's lifecycle: declared capabilities, deploy, open, status, remove."""

from __future__ import annotations

from faaskeeper.api.provider import Capability, Deployment, Provider
from faaskeeper.api.storage import SessionRecord
from faaskeeper.config import Config
from faaskeeper.node import Node, Stat
from faaskeeper.testing.fixtures import ConformanceFixtures
from faaskeeper.testing.support import Inbox


def _mark(deployment: Deployment) -> None:
    """Leave traces of use in both storages."""
    deployment.user_storage.write(Node("/marker", b"kept", Stat(czxid=1, mzxid=1, pzxid=1), []))
    assert deployment.system_storage.create_session(SessionRecord("marker-session", "tcp://127.0.0.1:9", "d"))


def _assert_empty(deployment: Deployment) -> None:
    assert deployment.user_storage.read("/marker") is None
    assert deployment.system_storage.read_session("marker-session") is None
    assert deployment.system_storage.count_nodes() == 1
    root = deployment.user_storage.read("/")
    assert root is not None
    assert root.children == []


class DeploymentSuite(ConformanceFixtures):
    """What ``fk deploy``/``fk remove``/``fk status`` and every client rely on."""

    def test_declares_name_and_capabilities(self, provider: Provider, fk_checked_config: Config) -> None:
        assert isinstance(provider.name, str)
        assert provider.name
        assert isinstance(provider.capabilities, frozenset)
        assert all(isinstance(c, Capability) for c in provider.capabilities)
        provider.validate_config(fk_checked_config)

    def test_open_deployment_has_every_part(self, deployment: Deployment, fk_checked_config: Config) -> None:
        assert deployment.config.deployment_name == fk_checked_config.deployment_name
        for part in ("system_storage", "user_storage", "writer_queue", "distributor_queue", "channel"):
            assert getattr(deployment, part) is not None, part
        listener = deployment.listener()
        listener.start(Inbox())
        try:
            assert isinstance(listener.address, str)
        finally:
            listener.stop()

    def test_opens_share_one_deployment(self, provider: Provider, fk_checked_config: Config) -> None:
        first = provider.open(fk_checked_config)
        try:
            _mark(first)
            second = provider.open(fk_checked_config)
            try:
                node = second.user_storage.read("/marker")
                assert node is not None
                assert node.data == b"kept"
                assert second.system_storage.read_session("marker-session") is not None
            finally:
                second.close()
        finally:
            first.close()
        third = provider.open(fk_checked_config)
        try:
            node = third.user_storage.read("/marker")
            assert node is not None, "closing a handle must not lose the deployment's state"
        finally:
            third.close()

    def test_clean_deploy_empties(self, provider: Provider, fk_checked_config: Config) -> None:
        first = provider.open(fk_checked_config)
        try:
            _mark(first)
        finally:
            first.close()
        config = provider.deploy(fk_checked_config, clean=True)
        assert config.cloud_provider == provider.name
        reopened = provider.open(config)
        try:
            _assert_empty(reopened)
        finally:
            reopened.close()

    def test_remove_then_deploy_starts_empty(self, provider: Provider, fk_checked_config: Config) -> None:
        first = provider.open(fk_checked_config)
        try:
            _mark(first)
        finally:
            first.close()
        provider.remove(fk_checked_config)
        provider.remove(fk_checked_config)  # removing twice is harmless
        config = provider.deploy(fk_checked_config)
        reopened = provider.open(config)
        try:
            _assert_empty(reopened)
        finally:
            reopened.close()

    def test_status(self, provider: Provider, fk_checked_config: Config) -> None:
        status = provider.status(fk_checked_config)
        assert status["provider"] == provider.name
        if "nodes" in status:
            assert status["nodes"] == 1
        if "sessions" in status:
            assert status["sessions"] == 0
