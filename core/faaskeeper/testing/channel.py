"""Conformance of the client channel: :class:`~faaskeeper.api.channel.ChannelSender` (function side)
delivering to :class:`~faaskeeper.api.channel.ChannelListener` (client side)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from faaskeeper.api.channel import ChannelListener, ChannelSender
from faaskeeper.exceptions import ProviderException
from faaskeeper.testing.fixtures import ConformanceFixtures
from faaskeeper.testing.support import Inbox

Listen = Callable[[Inbox], ChannelListener]


class ChannelSuite(ConformanceFixtures):
    """Each client gets what is sent to its address, in order, and nothing sent to others."""

    def test_send_delivers(self, channel: ChannelSender, listen: Listen) -> None:
        inbox = Inbox()
        listener = listen(inbox)
        assert isinstance(listener.address, str)
        assert listener.address
        channel.send(listener.address, b"hello")
        assert inbox.wait_for(1, self.settle_timeout) == [b"hello"]

    def test_send_keeps_order(self, channel: ChannelSender, listen: Listen) -> None:
        inbox = Inbox()
        listener = listen(inbox)
        expected = [f"message {i}".encode() for i in range(50)]
        for message in expected:
            channel.send(listener.address, message)
        assert inbox.wait_for(len(expected), self.settle_timeout) == expected

    def test_binary_and_large_messages(self, channel: ChannelSender, listen: Listen) -> None:
        inbox = Inbox()
        listener = listen(inbox)
        messages = [bytes(range(256)), b"", b"\x00" * 65536]
        for message in messages:
            channel.send(listener.address, message)
        assert inbox.wait_for(3, self.settle_timeout) == messages

    def test_listeners_are_separate(self, channel: ChannelSender, listen: Listen) -> None:
        first, second = Inbox(), Inbox()
        one, two = listen(first), listen(second)
        assert one.address != two.address
        channel.send(one.address, b"for one")
        channel.send(two.address, b"for two")
        assert first.wait_for(1, self.settle_timeout) == [b"for one"]
        assert second.wait_for(1, self.settle_timeout) == [b"for two"]

    def test_request_returns_the_answer(self, channel: ChannelSender, listen: Listen) -> None:
        inbox = Inbox(answer=lambda message: b"pong:" + message)
        listener = listen(inbox)
        assert channel.request(listener.address, b"ping", self.settle_timeout) == b"pong:ping"
        assert channel.request(listener.address, b"again", self.settle_timeout) == b"pong:again"
        assert inbox.messages == [b"ping", b"again"]

    def test_stopped_listener_is_unreachable(self, channel: ChannelSender, listen: Listen) -> None:
        inbox = Inbox(answer=lambda message: message)
        listener = listen(inbox)
        channel.send(listener.address, b"before")
        inbox.wait_for(1, self.settle_timeout)
        listener.stop()
        with pytest.raises(ProviderException):
            channel.send(listener.address, b"after")
        assert channel.request(listener.address, b"after", 1.0) is None
        assert inbox.messages == [b"before"]
