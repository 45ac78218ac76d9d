"""The abstract interfaces a provider implements.

A provider supplies system storage, user storage, queues, a client channel and the way its
functions are triggered; the core's functions and client run over these alone.
"""

from faaskeeper.api.channel import ChannelListener, ChannelSender, MessageHandler
from faaskeeper.api.provider import Capability, Deployment, FunctionHost, Provider
from faaskeeper.api.queue import PollingQueue, Queue, QueueMessage
from faaskeeper.api.storage import (
    Commit,
    Lock,
    NodeState,
    SessionRecord,
    SystemNode,
    SystemStorage,
    UserStorage,
    WatchKind,
    WatchRecord,
)

__all__ = [
    "Capability",
    "ChannelListener",
    "ChannelSender",
    "Commit",
    "Deployment",
    "FunctionHost",
    "Lock",
    "MessageHandler",
    "NodeState",
    "PollingQueue",
    "Provider",
    "Queue",
    "QueueMessage",
    "SessionRecord",
    "SystemNode",
    "SystemStorage",
    "UserStorage",
    "WatchKind",
    "WatchRecord",
]
