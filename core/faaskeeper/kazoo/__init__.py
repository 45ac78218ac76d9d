"""kazoo on FaaSKeeper: ``from faaskeeper.kazoo import KazooClient`` instead of kazoo's, built from a
FaaSKeeper client config instead of hosts; kazoo's API and recipes run unchanged on it.

Needs the ``kazoo`` extra: ``pip install "faaskeeper[kazoo]"``."""

try:
    import kazoo  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on what is installed
    raise ImportError('faaskeeper.kazoo needs kazoo: pip install "faaskeeper[kazoo]"') from err

from faaskeeper.kazoo.client import API_VERSION, CHROOT_KEY, KazooClient

__all__ = ["API_VERSION", "CHROOT_KEY", "KazooClient"]
