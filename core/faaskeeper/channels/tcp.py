"""The TCP client channel: the client listens on a port, the functions connect and push.

Frames are a 4-byte length, a 1-byte kind (one-way or request) and the payload. A listener in
the same process as the sender is reached without a socket.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import threading

from faaskeeper.api.channel import ChannelListener, ChannelSender, MessageHandler
from faaskeeper.exceptions import ProviderException

log = logging.getLogger("faaskeeper.channel")

_FRAME = struct.Struct(">IB")
_ONE_WAY = 0
_REQUEST = 1
_RESPONSE = 2

#: Listeners of this process by address, for delivery without a socket.
_in_process: dict[str, MessageHandler] = {}
_in_process_lock = threading.Lock()


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed")
        chunks += chunk
    return bytes(chunks)


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    size, kind = _FRAME.unpack(_recv_exact(sock, _FRAME.size))
    return kind, _recv_exact(sock, size)


def _write_frame(sock: socket.socket, kind: int, payload: bytes) -> None:
    sock.sendall(_FRAME.pack(len(payload), kind) + payload)


def _parse(address: str) -> tuple[str, int]:
    if not address.startswith("tcp://"):
        raise ProviderException(f"Not a TCP channel address: {address!r}")
    host, _, port = address[len("tcp://") :].rpartition(":")
    try:
        return host, int(port)
    except ValueError as err:
        raise ProviderException(f"Bad TCP channel address {address!r}") from err


class TcpChannel(ChannelSender):
    """Function side: keeps one connection per client address."""

    def __init__(self, connect_timeout: float = 2.0) -> None:
        self._connect_timeout = connect_timeout
        self._sockets: dict[str, socket.socket] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, address: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(address, threading.Lock())

    def _socket(self, address: str) -> socket.socket:
        sock = self._sockets.get(address)
        if sock is None:
            try:
                sock = socket.create_connection(_parse(address), timeout=self._connect_timeout)
            except OSError as err:
                raise ProviderException(f"Client at {address} is unreachable: {err}") from err
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sockets[address] = sock
        return sock

    def _drop(self, address: str) -> None:
        sock = self._sockets.pop(address, None)
        if sock is not None:
            sock.close()

    def _exchange(self, address: str, kind: int, message: bytes, timeout: float | None) -> bytes | None:
        with self._lock_for(address):
            for attempt in (0, 1):
                sock = self._socket(address)
                try:
                    sock.settimeout(timeout if timeout is not None else self._connect_timeout)
                    _write_frame(sock, kind, message)
                    if kind != _REQUEST:
                        return None
                    _, payload = _read_frame(sock)
                    return payload
                except TimeoutError:
                    self._drop(address)
                    return None
                except OSError as err:
                    # A cached connection may have been closed by the client; reconnect once.
                    self._drop(address)
                    if attempt == 1:
                        raise ProviderException(f"Client at {address} is unreachable: {err}") from err
        return None

    def send(self, address: str, message: bytes) -> None:
        handler = _in_process.get(address)
        if handler is not None:
            handler(message)
            return
        self._exchange(address, _ONE_WAY, message, None)

    def request(self, address: str, message: bytes, timeout: float) -> bytes | None:
        handler = _in_process.get(address)
        if handler is not None:
            return handler(message)
        try:
            return self._exchange(address, _REQUEST, message, timeout)
        except ProviderException:
            return None

    def close(self) -> None:
        with self._guard:
            for address in list(self._sockets):
                self._drop(address)


class TcpListener(ChannelListener):
    """Client side: accepts connections from functions and hands each message to the handler."""

    def __init__(self, host: str = "127.0.0.1", port: int = -1, advertise: str | None = None) -> None:
        self._server = socket.create_server((host, max(port, 0)))
        self._address = f"tcp://{advertise or host}:{self._server.getsockname()[1]}"
        self._handler: MessageHandler | None = None
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        self._stopped = threading.Event()

    @property
    def address(self) -> str:
        return self._address

    def start(self, handler: MessageHandler) -> None:
        self._handler = handler
        with _in_process_lock:
            _in_process[self.address] = handler
        thread = threading.Thread(target=self._accept, name="faaskeeper-channel", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._connections.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), name="faaskeeper-channel-conn", daemon=True)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        assert self._handler is not None
        with conn:
            while not self._stopped.is_set():
                try:
                    kind, payload = _read_frame(conn)
                except (OSError, ConnectionError):
                    return
                try:
                    answer = self._handler(payload)
                except Exception:
                    log.exception("client channel handler failed")
                    answer = None
                if kind == _REQUEST:
                    try:
                        _write_frame(conn, _RESPONSE, answer or b"")
                    except OSError:
                        return

    def stop(self) -> None:
        self._stopped.set()
        with _in_process_lock:
            _in_process.pop(self.address, None)
        # close() alone leaves a socket listening while accept() blocks on it in another thread.
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)
        self._server.close()
        for conn in self._connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
