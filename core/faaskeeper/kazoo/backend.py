"""The FaaSKeeper session behind a kazoo client, which can be told to go silent.

A silent session stops answering the service's heartbeats, as a frozen or cut-off process would:
the client turns SUSPENDED, and once the session timeout passes the service expires the session.
kazoo's test harness uses this to drop a connection and to expire a session for real."""

from __future__ import annotations

import json

from faaskeeper.client import FaaSKeeperClient


class SessionBackend(FaaSKeeperClient):
    """A FaaSKeeperClient whose current session can stop answering heartbeats."""

    _silenced: str | None = None

    @property
    def session_token(self) -> bytes:
        """The session's secret, ZooKeeper's session password (16 bytes; zeros without a session)."""
        session = self._session
        return bytes.fromhex(session.token) if session is not None else b"\x00" * 16

    def silence(self) -> None:
        """Stop answering heartbeats in the current session (a new session answers again)."""
        self._silenced = self.session_id

    def unsilence(self) -> None:
        self._silenced = None

    def _on_message(self, payload: bytes) -> bytes | None:
        silenced = self._silenced
        if silenced is not None and silenced == self.session_id:
            try:
                if json.loads(payload).get("kind") == "ping":
                    return None
            except (ValueError, AttributeError):
                pass
        return super()._on_message(payload)
