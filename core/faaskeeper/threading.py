"""The upstream client's ``faaskeeper.threading``: its :class:`Future` is the client's own."""

from faaskeeper.client.futures import Future

__all__ = ["Future"]
