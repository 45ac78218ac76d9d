"""KazooClient on FaaSKeeper: kazoo's client, its recipes and its API, served by a FaaSKeeper session.

kazoo's public methods build ZooKeeper request objects and hand them to ``_call``, which queues
them for the connection to ZooKeeper. Here ``_call`` hands them to FaaSKeeper instead
(:class:`~faaskeeper.kazoo.requests.RequestRouter`), and the session's life (start, stop, the
states CONNECTED / SUSPENDED / LOST, a new session after expiry) follows the FaaSKeeper client's
session in place of the connection's. Everything above ``_call`` is kazoo's own code: argument
checks, the chroot, ``makepath``, ``ensure_path``, recursive delete, retries and the recipes."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from kazoo.client import KazooClient as _KazooClient
from kazoo.exceptions import (
    AuthFailedError,
    ConfigurationError,
    ConnectionClosedError,
    SessionExpiredError,
    UnimplementedError,
)
from kazoo.protocol.connection import _CONNECTION_DROP, _SESSION_EXPIRED
from kazoo.protocol.paths import normpath
from kazoo.protocol.states import KeeperState

from faaskeeper.client.client import DEFAULT_TIMEOUT, SessionState
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper.kazoo.backend import SessionBackend
from faaskeeper.kazoo.errors import to_kazoo
from faaskeeper.kazoo.requests import RequestRouter
from faaskeeper.kazoo.stat import session_number
from faaskeeper.kazoo.watches import WatchBridge

log = logging.getLogger("faaskeeper.kazoo")

#: The config's top-level key holding the chroot the kazoo client works under (ZooKeeper's
#: ``host:port/chroot``), e.g. ``"chroot": "/apps/billing"``.
CHROOT_KEY = "chroot"
#: The ZooKeeper version whose client API this client offers (``server_version()``): 3.5 has
#: multi, create2 (``include_data``) and the stat ``get_children`` returns.
API_VERSION = (3, 5, 0)


def load_config(config: Config | str | Path) -> Config:
    """The FaaSKeeper client config given, or read from the JSON file it names."""
    if isinstance(config, Config):
        return config
    if isinstance(config, str | Path):
        try:
            return Config.from_file(config)
        except FaaSKeeperException as err:
            raise ConfigurationError(f"KazooClient on FaaSKeeper takes a FaaSKeeper client config: {err}") from err
    raise ConfigurationError(
        f"KazooClient on FaaSKeeper takes a faaskeeper.config.Config or the path of a config JSON, "
        f"got {type(config).__name__}"
    )


def config_chroot(config: Config) -> str:
    """The chroot the config names (its ``chroot`` key), normalised; "" for none."""
    return normal_chroot(config.raw.get(CHROOT_KEY), f"Config key {CHROOT_KEY!r}")


def normal_chroot(chroot: object, what: str = "chroot") -> str:
    """``chroot`` as kazoo keeps it: normalised, without a trailing slash; "" for none or "/"."""
    if chroot is None or chroot in ("", "/"):
        return ""
    if not isinstance(chroot, str) or not chroot.startswith("/"):
        raise ConfigurationError(f"{what} must be an absolute node path, got {chroot!r}")
    return str(normpath(chroot.rstrip("/")))


class KazooClient(_KazooClient):  # type: ignore[misc]  # kazoo is untyped
    """kazoo's ``KazooClient``, its requests served by FaaSKeeper.

    :param config: the deployment's client config, a :class:`~faaskeeper.config.Config` or the
        path of a config JSON; its ``chroot`` key, if any, is the path the client works under
    :param chroot: a chroot that overrides the config's
    :param operation_timeout: seconds a FaaSKeeper operation waits before it fails with kazoo's
        OperationTimeoutError
    :param kwargs: kazoo's own options (``handler``, ``default_acl``, ``connection_retry``,
        ``command_retry``, ``logger``, ...). ``timeout``, the session timeout kazoo asks a
        ZooKeeper server for, is the deployment's ``session-timeout`` on FaaSKeeper and is not
        used; ``hosts`` and TLS options have no meaning; ``client_id`` (resuming a session
        elsewhere), ``auth_data`` and ``sasl_options`` are refused.
    """

    def __init__(
        self,
        config: Config | str | Path,
        *,
        chroot: str | None = None,
        operation_timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        for option, why in (
            ("client_id", "a FaaSKeeper session cannot be resumed by another client"),
            ("auth_data", "FaaSKeeper has no authentication schemes"),
            ("sasl_options", "FaaSKeeper has no authentication schemes"),
        ):
            if kwargs.get(option):
                raise ConfigurationError(f"KazooClient on FaaSKeeper does not support {option}: {why}")
        handler_name = getattr(kwargs.get("handler"), "name", None)
        if handler_name in ("sequential_gevent_handler", "sequential_eventlet_handler"):
            raise ConfigurationError(
                f"KazooClient on FaaSKeeper needs a threading handler: the FaaSKeeper client completes calls "
                f"on threads, not on green threads ({handler_name})"
            )
        self._fk_config = load_config(config)
        self._fk_chroot = config_chroot(self._fk_config) if chroot is None else normal_chroot(chroot)
        self._in_init = True
        super().__init__(hosts="", **kwargs)
        self._in_init = False
        self._session_timeout = int(self._fk_config.effective_session_timeout * 1000)
        self._backend = SessionBackend(self._fk_config, timeout=operation_timeout)
        self._backend.add_listener(self._on_session_state)
        self._watch_bridge = WatchBridge(self)
        self._router = RequestRouter(self._backend, self._watch_bridge, self.handler.spawn, self.unchroot)
        #: Serialises the session's state changes: those the FaaSKeeper client reports on its
        #: callback thread and those of start, stop and the reconnection after an expiry.
        self._state_lock = threading.RLock()
        #: Serialises opening and closing the FaaSKeeper session: a stop while a new session opens
        #: after an expiry closes that session, rather than leave it open.
        self._session_lock = threading.Lock()
        #: The break the test harness asked for, if any: "drop" (resume answering heartbeats once
        #: SUSPENDED) or "expire" (stay silent until the service expires the session).
        self._break: str | None = None

    @property
    def faaskeeper(self) -> SessionBackend:
        """The FaaSKeeper client serving this kazoo client."""
        return self._backend

    @property
    def config(self) -> Config:
        return self._fk_config

    def set_hosts(self, hosts: Any, randomize_hosts: bool | None = None) -> None:
        if not self._in_init:
            raise ConfigurationError("KazooClient on FaaSKeeper connects to the deployment of its config, not to hosts")
        self.hosts: list[tuple[str, int]] = []
        self.chroot = self._fk_chroot

    @property
    def client_id(self) -> tuple[int, bytes] | None:
        """(session number, session password) of the current session while connected."""
        if self._live.is_set():
            return (session_number(self._backend.session_id), self._backend.session_token)
        return None

    # -- the session ------------------------------------------------------------------------

    def start(self, timeout: float = 15) -> None:
        """Open a session; FaaSKeeper's error (deployment not found, unreachable) as kazoo's if it fails.

        :param timeout: kazoo's wait for a connection; here the registration of the session waits
            as long as the client's ``operation_timeout``"""
        if self._live.is_set():
            return
        self._stopped.clear()
        self.handler.start()
        try:
            self._open_session()
        except BaseException:
            self._stopped.set()
            with self._state_lock:
                self._session_callback(KeeperState.CLOSED)
            self.handler.stop()
            raise
        if self.chroot and not self.exists("/"):
            log.warning("The chroot path %s does not exist; create it before normal use", self.chroot)

    def start_async(self) -> Any:
        if self._live.is_set():
            return self._live
        self._stopped.clear()
        self.handler.start()
        self.handler.spawn(self._open_session_until_up)
        return self._live

    def _open_session(self) -> None:
        with self._state_lock:
            self._session_callback(KeeperState.CONNECTING)
        with self._session_lock:
            if self._stopped.is_set():
                return
            try:
                self._backend.start()
            except FaaSKeeperException as err:
                raise to_kazoo(err) from err
        with self._state_lock:
            if self._stopped.is_set():
                return
            self._session_callback(KeeperState.CONNECTED)
            self._send_queued()

    def _open_session_until_up(self) -> None:
        """A new session, retried by the connection retry policy until one opens or the client stops."""
        retry = self._conn_retry.copy()
        retry.interrupt = self._stopped.is_set
        try:
            retry(self._open_session_or_retry)
        except Exception:
            log.exception("Could not open a FaaSKeeper session")

    def _open_session_or_retry(self) -> None:
        from kazoo.exceptions import ConnectionLoss

        if self._stopped.is_set():
            return
        try:
            self._open_session()
        except Exception as err:
            log.warning("Opening a FaaSKeeper session failed: %s", err)
            raise ConnectionLoss(str(err)) from err

    def stop(self) -> None:
        """Close the session: its ephemeral nodes are deleted and its watches end."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        try:
            with self._session_lock:
                self._backend.stop()
        except FaaSKeeperException as err:
            log.warning("Closing the FaaSKeeper session: %s", err)
        finally:
            with self._state_lock:
                self._session_callback(KeeperState.CLOSED)
            self.handler.stop()

    def close(self) -> None:
        """Release what the client holds; it is stopped first if it was not."""
        self.stop()

    def _on_session_state(self, state: SessionState) -> None:
        """The FaaSKeeper session's state, reported on its callback thread, as kazoo's."""
        with self._state_lock:
            if self._stopped.is_set() or state is not self._backend.state:
                return  # the client stopped, or this is the news of a session since replaced
            if state is SessionState.CONNECTED:
                if self._break == "drop":
                    self._break = None
                self._session_callback(KeeperState.CONNECTED)
                self._send_queued()
            elif state is SessionState.SUSPENDED:
                if self._break == "drop":
                    self._backend.unsilence()
                self._session_callback(KeeperState.CONNECTING)
            else:
                self._break = None
                self._session_callback(KeeperState.EXPIRED_SESSION)
                # As kazoo does after an expiry: a new session, with the listeners told CONNECTED.
                self.handler.spawn(self._open_session_until_up)

    # -- requests -----------------------------------------------------------------------------

    def _call(self, request: Any, async_object: Any) -> bool | None:
        """Serve ``request`` on FaaSKeeper; while the session is suspended or reopening it waits, as
        kazoo's requests wait for the connection."""
        if request is _SESSION_EXPIRED or request is _CONNECTION_DROP:
            self._break_session(request is _SESSION_EXPIRED)
            return None
        state = self._state
        if state == KeeperState.AUTH_FAILED:
            async_object.set_exception(AuthFailedError())
            return False
        if state == KeeperState.CLOSED:
            async_object.set_exception(ConnectionClosedError("Connection has been closed"))
            return False
        if state == KeeperState.EXPIRED_SESSION:
            async_object.set_exception(SessionExpiredError())
            return False
        with self._state_lock:
            if not self._live.is_set():
                self._queue.append((request, async_object))
                return None
        self._router.issue(request, async_object)
        return None

    def _send_queued(self) -> None:
        while True:
            try:
                request, async_object = self._queue.popleft()
            except IndexError:
                return
            self._router.issue(request, async_object)

    def _break_session(self, expire: bool) -> None:
        """What kazoo's harness asks for by its ``expire_session`` and ``lose_connection``: the
        session stops answering heartbeats; the service suspends it, then expires it (expire) or
        it answers again once suspended (a dropped connection that comes back)."""
        self._break = "expire" if expire else "drop"
        self._backend.silence()

    # -- what a ZooKeeper server has and FaaSKeeper has not -----------------------------------

    def command(self, cmd: bytes = b"ruok") -> str:
        raise UnimplementedError(
            f"FaaSKeeper has no server to send the four-letter word {cmd!r} to: it is built from serverless parts"
        )

    def server_version(self, retries: int = 3) -> tuple[int, ...]:
        """The ZooKeeper version whose client API FaaSKeeper offers (multi, create2, sync)."""
        return API_VERSION
