"""The client channel: results, notifications and pings from the functions to a client."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

#: Called with each message a client receives; returns the reply for request/response messages.
MessageHandler = Callable[[bytes], bytes | None]


class ChannelSender(ABC):
    """The client channel's function side: sends to the client listening at ``address``, the
    address its :class:`ChannelListener` reported."""

    @abstractmethod
    def send(self, address: str, message: bytes) -> None:
        """Deliver ``message``; raise ProviderException if the client cannot be reached."""

    @abstractmethod
    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        """Deliver ``message`` and wait for the client's answer; None if it does not answer in time."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class ChannelListener(ABC):
    """Client side: receives what the functions send to this client."""

    @property
    @abstractmethod
    def address(self) -> str:
        """Where functions reach this listener, stored with the session."""

    @abstractmethod
    def start(self, handler: MessageHandler) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...
