"""The session behind ``fk shell``: one client at a time, where output goes, and watch events as they fire."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from faaskeeper import paths
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.client.client import SessionState
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException, NodeDoesntExistException
from faaskeeper.node import Node
from faaskeeper.plugins.manager import get_provider
from faaskeeper.watch import WatchCallbackType, WatchedEvent
from faaskeeper_deploy.shell.render import render_event

log = logging.getLogger("faaskeeper_deploy.shell")

#: The state shown while the shell holds no session.
CLOSED = "CLOSED"

_RED, _CYAN, _RESET = "\x1b[31m", "\x1b[36m", "\x1b[0m"


class Stream(Protocol):
    """What the console writes to: a text file, or a prompt's stdout proxy."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class ShellError(FaaSKeeperException):
    """A command the shell cannot run as typed: unknown, wrong arguments, or no session."""

    code = "ShellError"


class Console:
    """Where the shell writes: results to standard output, errors to standard error, and notices
    (watch events, session changes, which arrive on other threads while a prompt may be shown) to
    standard output unless :meth:`writing_to` sends them elsewhere.

    Streams not given are looked up at each write, so that redirections of ``sys.stdout`` apply.
    """

    def __init__(self, stdout: Stream | None = None, stderr: Stream | None = None, *, color: bool = False) -> None:
        self._stdout = stdout
        self._stderr = stderr
        self._notices: Stream | None = None
        self._color = color
        self._lock = threading.Lock()

    def out(self, text: str) -> None:
        self._write(self._stdout or sys.stdout, text)

    def error(self, text: str) -> None:
        line = f"error: {text}"
        self._write(self._stderr or sys.stderr, f"{_RED}{line}{_RESET}" if self._color else line)

    def notice(self, text: str) -> None:
        """Something that happened on its own: a watch fired, the session's state changed."""
        self._write(self._notices or self._stdout or sys.stdout, f"{_CYAN}{text}{_RESET}" if self._color else text)

    @contextmanager
    def writing_to(self, results: Stream, notices: Stream) -> Iterator[None]:
        """For a while, write results and errors to ``results`` and notices to ``notices``."""
        saved = self._stdout, self._stderr, self._notices
        self._stdout = self._stderr = results
        self._notices = notices
        try:
            yield
        finally:
            self._stdout, self._stderr, self._notices = saved

    def _write(self, stream: Stream, text: str) -> None:
        with self._lock:
            stream.write(text + "\n")
            stream.flush()


class ShellSession:
    """The shell's connection to a deployment: at most one client, replaced by ``connect``."""

    def __init__(self, config: Config, console: Console, *, timeout: float = 30.0) -> None:
        self.config = config
        self.console = console
        self.timeout = timeout
        self.client: FaaSKeeperClient | None = None
        #: How the deployment's transaction ids are shown (its provider's choice).
        self.txn: Callable[[int], str] = str
        self._hooks: list[Callable[[], None]] = []
        self._events = threading.Condition()
        #: Every watch event that fired, as printed; the index of one is its number.
        self._fired: list[str] = []
        #: Events numbered below this were consumed by a wait.
        self._consumed = 0
        #: The number of the event a running wait waits for, which it prints itself.
        self._awaiting: int | None = None

    # -- state ------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        return f"{self.config.cloud_provider}:{self.config.deployment_name}"

    @property
    def state(self) -> str:
        """CONNECTED, SUSPENDED or LOST while a client exists, else CLOSED."""
        return self.client.state.value if self.client is not None else CLOSED

    @property
    def session_id(self) -> str | None:
        return self.client.session_id if self.client is not None else None

    def on_change(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` (from any thread) whenever the state or the session changes."""
        self._hooks.append(hook)

    def _changed(self) -> None:
        for hook in list(self._hooks):
            hook()

    def _on_state(self, state: SessionState) -> None:
        if state is SessionState.LOST:
            self.console.notice("SESSION: LOST (expired or closed; connect starts a new session)")
        elif state is SessionState.SUSPENDED:
            self.console.notice("SESSION: SUSPENDED (heartbeats stopped arriving)")
        self._changed()

    # -- lifecycle --------------------------------------------------------------------------

    def connect(self, config: Config | None = None) -> str:
        """Start a new session, then close the current one, if any; returns the new session's id.

        If the new session cannot be started, the current one is kept.
        """
        chosen = config if config is not None else self.config
        client = FaaSKeeperClient(chosen, timeout=self.timeout)
        client.start()
        try:
            self.close()
        finally:
            self.config = chosen
            self.txn = _txn_formatter(chosen)
            client.add_listener(self._on_state)
            self.client = client
            self._changed()
        return client.session_id or ""

    def close(self) -> None:
        """Stop the session (its ephemeral nodes go) and forget the client."""
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.remove_listener(self._on_state)
            client.stop()
        finally:
            self._changed()

    def require(self) -> FaaSKeeperClient:
        """The client, if its session can be used; else ShellError saying how to get one."""
        if self.client is None:
            raise ShellError("not connected (connect starts a session)")
        if self.client.state is SessionState.LOST:
            raise ShellError("the session is lost (connect starts a new one)")
        return self.client

    # -- watches ----------------------------------------------------------------------------

    def watch(self) -> WatchCallbackType:
        """A watch callback that prints the event (or hands it to a running ``wait_for_event``)."""

        def fired(event: WatchedEvent) -> None:
            text = render_event(event, self.txn)
            with self._events:
                claimed = self._awaiting == len(self._fired)
                self._fired.append(text)
                self._events.notify_all()
            if not claimed:
                self.console.notice(text)

        return fired

    @property
    def waiting(self) -> bool:
        """Whether a ``wait_for_event`` is waiting for an event to fire."""
        with self._events:
            return self._awaiting is not None

    @property
    def events_fired(self) -> int:
        """How many watch events have fired so far in this shell."""
        with self._events:
            return len(self._fired)

    def wait_for_event(self, timeout: float, *, since: int = 0) -> tuple[str, bool] | None:
        """The first watch event that fired after the first ``since`` events and that no earlier wait
        returned, as printed, and whether it was printed already; None if none fires within ``timeout``
        s. An event that fires while this waits is not printed: that is left to the caller."""
        with self._events:
            number = max(since, self._consumed)
            shown = number < len(self._fired)
            if not shown:
                self._awaiting = number
                try:
                    if not self._events.wait_for(lambda: len(self._fired) > number, timeout):
                        return None
                finally:
                    self._awaiting = None
            self._consumed = number + 1
            return self._fired[number], shown

    # -- walking the tree -------------------------------------------------------------------

    def children(self, path: str, *, with_data: bool = False) -> list[Node]:
        """The children of ``path``; none if it vanished meanwhile."""
        try:
            return self.require().get_children(path, include_data=with_data)
        except NodeDoesntExistException:
            return []

    def subtree(self, root: str, *, depth: int | None = None, with_data: bool = False) -> dict[str, list[Node]]:
        """Children per path, breadth first from ``root`` down to ``depth`` levels (all by default)."""
        found: dict[str, list[Node]] = {}
        level, remaining = [root], depth
        while level and (remaining is None or remaining > 0):
            following: list[str] = []
            for path in level:
                found[path] = self.children(path, with_data=with_data)
                following.extend(child.path for child in found[path])
            level = following
            remaining = None if remaining is None else remaining - 1
        return found

    def ephemerals(self) -> list[str]:
        """Paths of this session's ephemeral nodes: from system storage's index, else by walking the tree."""
        session = self.require().session_id or ""
        try:
            deployment = get_provider(self.config.cloud_provider).open(self.config)
            try:
                return sorted(deployment.system_storage.ephemeral_nodes(session))
            finally:
                deployment.close()
        except FaaSKeeperException as err:
            log.debug("system storage cannot list ephemeral nodes (%s); walking the tree", err)
        tree = self.subtree(paths.ROOT, with_data=True)
        return sorted(n.path for nodes in tree.values() for n in nodes if n.stat.ephemeral_owner == session)


def _txn_formatter(config: Config) -> Callable[[int], str]:
    """How ``config``'s deployment shows transaction ids; the numbers if it cannot say."""
    try:
        deployment = get_provider(config.cloud_provider).open(config)
        try:
            return deployment.txn_formatter()
        finally:
            deployment.close()
    except FaaSKeeperException as err:
        log.debug("transaction ids shown as stored: %s", err)
        return str
