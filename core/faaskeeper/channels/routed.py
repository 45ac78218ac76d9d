"""A client channel that sends to whichever channel an address belongs to: the functions of a
provider with more than one kind of client channel (TCP, or the provider's queues) use one."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from faaskeeper.api.channel import ChannelSender
from faaskeeper.exceptions import ProviderException

#: Whether an address belongs to a channel, and that channel.
Route = tuple[Callable[[str], bool], ChannelSender]


class RoutedChannel(ChannelSender):
    def __init__(self, routes: Sequence[Route]) -> None:
        self._routes = list(routes)

    def _route(self, address: str) -> ChannelSender:
        for belongs, channel in self._routes:
            if belongs(address):
                return channel
        raise ProviderException(f"Unknown client channel address {address!r}")

    def send(self, address: str, message: bytes) -> None:
        self._route(address).send(address, message)

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        """The answer, or None: a session at an address no channel knows gives none."""
        try:
            channel = self._route(address)
        except ProviderException:
            return None
        return channel.request(address, message, timeout)

    def close(self) -> None:
        for _, channel in self._routes:
            channel.close()
