"""The core's Deployment holds a deployment's five parts; providers hand theirs over and copy no getter."""

from __future__ import annotations

from importlib.metadata import entry_points
from unittest.mock import create_autospec

from faaskeeper.api.channel import ChannelListener, ChannelSender
from faaskeeper.api.provider import Deployment
from faaskeeper.api.queue import Queue
from faaskeeper.api.storage import SystemStorage, UserStorage
from faaskeeper.config import Config
from faaskeeper.plugins.manager import ENTRY_POINT_GROUP, get_provider

PARTS = ("system_storage", "user_storage", "writer_queue", "distributor_queue", "channel")


class _Bare(Deployment):
    def listener(self, port: int = -1) -> ChannelListener:
        raise NotImplementedError


def test_the_base_hands_back_the_parts_it_was_given() -> None:
    parts = {
        "system_storage": create_autospec(SystemStorage, instance=True),
        "user_storage": create_autospec(UserStorage, instance=True),
        "writer_queue": create_autospec(Queue, instance=True),
        "distributor_queue": create_autospec(Queue, instance=True),
        "channel": create_autospec(ChannelSender, instance=True),
    }
    config = Config(cloud_provider="none", deployment_name="parts")
    deployment = _Bare(config, **parts)
    assert deployment.config is config
    for name, part in parts.items():
        assert getattr(deployment, name) is part


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_no_installed_provider_redefines_a_part_getter() -> None:
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        get_provider(entry.name).open  # noqa: B018 - loading the provider loads its deployment
    deployments = [cls for cls in _subclasses(Deployment) if cls is not _Bare]
    assert {cls.__module__.split(".")[0] for cls in deployments} >= {"faaskeeper_local", "faaskeeper_memory"}
    for cls in deployments:
        copied = [name for name in PARTS if name in vars(cls)]
        assert not copied, f"{cls.__qualname__} redefines {copied}: hand the parts to Deployment.__init__"
