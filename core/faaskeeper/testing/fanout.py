"""A write that notifies many clients, watched at the channel: each watcher told exactly once, the
writer's own notification before its reply, the fired watches gone before the reply.

Whether the distributor delivers the fan-out itself or hands it to the watch function depends
on the deployment's ``watch-fanout``; :func:`check_fan_out` notifies one client more than it, so
the watch function delivers. Providers call it from their own tests too, to check that their
watch function was invoked (by their metering) on top of what it checks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass

from faaskeeper.api.channel import ChannelListener
from faaskeeper.api.provider import Deployment
from faaskeeper.api.storage import WatchKind, WatchRecord
from faaskeeper.config import Config
from faaskeeper.plugins.manager import get_provider
from faaskeeper.protocol.messages import Op, pong
from faaskeeper.protocol.watch_delivery import notification
from faaskeeper.testing.support import HandSession, Inbox, listeners
from faaskeeper.watch import WatchEventType

Listen = Callable[[Inbox], ChannelListener]


@contextmanager
def opened_deployments() -> Iterator[Callable[[Config], tuple[Deployment, Listen]]]:
    """``open_(config)``: the config's deployment and its ``listen``; every deployment opened is
    closed, and every listener stopped, on leaving."""
    with ExitStack() as stack:

        def open_(config: Config) -> tuple[Deployment, Listen]:
            deployment = stack.enter_context(closing(get_provider(config.cloud_provider).open(config)))
            return deployment, stack.enter_context(listeners(deployment))

        yield open_


@dataclass(frozen=True)
class FanOut:
    """What one fanned-out write did: its transaction and the clients it notified."""

    txn: int
    clients: int


def check_fan_out(deployment: Deployment, listen: Listen, path: str, watchers: int, timeout: float) -> FanOut:
    """A hand-driven session sets the data of ``path`` (which must exist), watched by that
    session and by ``watchers`` other clients (raw listeners); asserts what each of them got.

    The deployment's functions must be running (a client of the deployment started, on providers
    whose functions run in client processes)."""
    node = deployment.user_storage.read(path)
    assert node is not None, f"{path} must exist"
    session: list[HandSession] = []
    inbox = Inbox(answer=lambda m: pong(session[0].id) if session and json.loads(m).get("kind") == "ping" else None)
    writer = HandSession(deployment.writer_queue, listen(inbox).address, inbox)
    session.append(writer)
    assert inbox.wait_reply(writer.push(writer.request(Op.REGISTER_SESSION)), timeout).ok
    others = [Inbox() for _ in range(watchers)]
    addresses = [writer.address, *(listen(other).address for other in others)]
    for index, address in enumerate(addresses):
        owner = writer.id if index == 0 else f"watcher-{index}"
        deployment.system_storage.add_watch(WatchRecord(path, WatchKind.DATA, owner, node.stat.mzxid, address))

    seq = writer.push(writer.request(Op.SET_DATA, path, b"fanned out"))
    reply = inbox.wait_reply(seq, timeout)
    assert reply.ok, reply
    assert reply.stat is not None
    txn = reply.stat.mzxid
    told = json.loads(notification(txn, path, WatchEventType.NODE_DATA_CHANGED))
    received = [json.loads(m) for m in inbox.wait_for(0, timeout)]
    order = [m["kind"] for m in received if m == told or (m.get("kind") == "result" and m.get("seq") == seq)]
    assert order == ["watch", "result"], f"the writer is told once, before its reply: {received}"
    left = deployment.system_storage.triggered_watches(path, (WatchKind.DATA,), txn + 1)
    assert left == [], "fired watches are removed before the reply"
    for other in others:
        assert [json.loads(m) for m in other.wait_for(1, timeout)] == [told], "each watcher is told once"
    return FanOut(txn, len(addresses))
