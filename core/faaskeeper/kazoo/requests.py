"""kazoo's requests served by FaaSKeeper: each request object kazoo's ``*_async`` methods build
(paths already under the chroot) becomes one FaaSKeeperClient call, and its outcome is set on
kazoo's async result as kazoo's connection would set ZooKeeper's answer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from kazoo.exceptions import BadVersionError, NoNodeError, OperationTimeoutError, UnimplementedError
from kazoo.protocol.serialization import (
    Auth,
    Create,
    Create2,
    Delete,
    Exists,
    GetACL,
    GetChildren,
    GetChildren2,
    GetData,
    Reconfig,
    SetACL,
    SetData,
    Sync,
    Transaction,
)

from faaskeeper import paths
from faaskeeper.client.futures import Future
from faaskeeper.kazoo import transaction
from faaskeeper.kazoo.acl import OPEN_ACL, check_acl
from faaskeeper.kazoo.backend import SessionBackend
from faaskeeper.kazoo.errors import to_kazoo
from faaskeeper.kazoo.stat import znode_stat
from faaskeeper.kazoo.watches import WatchBridge
from faaskeeper.node import Node

T = TypeVar("T")

#: Reads of a node's children and its stat retried before giving up on a node whose children
#: change faster than they can be read together.
CHILDREN_WITH_STAT_ATTEMPTS = 50


class RequestRouter:
    """Serves a kazoo client's requests on its FaaSKeeper session.

    :param backend: the FaaSKeeper client holding the session
    :param watches: where the requests' watch functions are registered
    :param spawn: runs a function on a new thread (the kazoo handler's ``spawn``)
    :param unchroot: a path as the kazoo user sees it (kazoo's ``client.unchroot``)
    """

    def __init__(
        self,
        backend: SessionBackend,
        watches: WatchBridge,
        spawn: Callable[[Callable[[], None]], object],
        unchroot: Callable[[str], str],
    ) -> None:
        self._backend = backend
        self._watches = watches
        self._spawn = spawn
        self._unchroot = unchroot
        self._routes: dict[type, Callable[[Any, Any], None]] = {
            Create: self._create,
            Create2: self._create,
            GetData: self._get_data,
            Exists: self._exists,
            GetChildren: self._get_children,
            GetChildren2: self._get_children_with_stat,
            SetData: self._set_data,
            Delete: self._delete,
            Sync: self._sync,
            Transaction: self._transaction,
            GetACL: self._get_acl,
            SetACL: self._set_acl,
            Auth: self._unsupported("authentication (add_auth): FaaSKeeper has no authentication schemes"),
            Reconfig: self._unsupported("reconfig: a FaaSKeeper deployment has no ensemble to reconfigure"),
        }

    def issue(self, request: Any, result: Any) -> None:
        """Send ``request``; its outcome, or kazoo's exception for what went wrong, goes to ``result``."""
        route = self._routes.get(type(request))
        if route is None:
            result.set_exception(UnimplementedError(f"FaaSKeeper does not serve kazoo's {type(request).__name__}"))
            return
        try:
            route(request, result)
        except Exception as err:
            self._watches.forget(request)
            result.set_exception(to_kazoo(err))

    def _complete(self, request: Any, future: Future[T], result: Any, convert: Callable[[T], object]) -> None:
        def done(finished: Future[T]) -> None:
            error = finished.exception()
            if error is not None:
                self._watches.forget(request)
                result.set_exception(to_kazoo(error))
                return
            try:
                result.set(convert(finished.get()))
            except Exception as err:
                result.set_exception(to_kazoo(err))

        future.add_callback(done)

    @staticmethod
    def _unsupported(what: str) -> Callable[[Any, Any], None]:
        def refuse(_request: Any, result: Any) -> None:
            result.set_exception(UnimplementedError(f"FaaSKeeper does not support {what}"))

        return refuse

    # -- writes ---------------------------------------------------------------------------

    def _create(self, request: Any, result: Any) -> None:
        check_acl(request.acl)
        transaction.check_flags(request.flags)
        future = self._backend.create_async(
            request.path,
            request.data or b"",
            ephemeral=bool(request.flags & transaction.EPHEMERAL),
            sequential=bool(request.flags & transaction.SEQUENTIAL),
        )
        if isinstance(request, Create2):
            self._complete(request, future, result, lambda node: (node.path, znode_stat(node.stat)))
        else:
            self._complete(request, future, result, lambda node: node.path)

    def _set_data(self, request: Any, result: Any) -> None:
        future = self._backend.set_data_async(request.path, request.data or b"", request.version)
        self._complete(request, future, result, lambda node: znode_stat(node.stat))

    def _delete(self, request: Any, result: Any) -> None:
        future = self._backend.delete_async(request.path, request.version)
        self._complete(request, future, result, lambda _none: True)

    def _transaction(self, request: Any, result: Any) -> None:
        if not request.operations:
            result.set([])
            return
        future = transaction.build(self._backend, request.operations).commit_async()
        self._complete(request, future, result, lambda outcomes: transaction.results(outcomes, self._unchroot))

    def _sync(self, request: Any, result: Any) -> None:
        sync_async = getattr(self._backend, "sync_async", None)
        if sync_async is None:
            raise UnimplementedError("This FaaSKeeper client has no sync")
        self._complete(request, sync_async(request.path), result, lambda path: path)

    # -- reads ----------------------------------------------------------------------------

    def _get_data(self, request: Any, result: Any) -> None:
        watch = self._watches.register(request)
        future = self._backend.get_data_async(request.path, watch)
        self._complete(request, future, result, lambda node: (node.data or b"", znode_stat(node.stat)))

    def _exists(self, request: Any, result: Any) -> None:
        watch = self._watches.register(request)
        future = self._backend.exists_async(request.path, watch)
        self._complete(request, future, result, lambda node: znode_stat(node.stat) if node is not None else None)

    def _get_children(self, request: Any, result: Any) -> None:
        watch = self._watches.register(request)
        future = self._backend.get_children_async(request.path, watch=watch)
        self._complete(request, future, result, _names)

    def _get_children_with_stat(self, request: Any, result: Any) -> None:
        """The children and the node's stat of one moment. FaaSKeeper reads them separately: the
        stat is read before and after the children, all three in the session's order, and agrees
        when no child came or went in between; otherwise they are read again until they agree."""
        watch = self._watches.register(request)
        backend = self._backend
        before = backend.exists_async(request.path)
        children = backend.get_children_async(request.path, watch=watch)
        after = backend.exists_async(request.path)

        def answer(first: Node | None, names: list[Node], last: Node | None) -> bool:
            if first is None or last is None:
                raise NoNodeError(request.path)
            if (first.stat.czxid, first.stat.pzxid) != (last.stat.czxid, last.stat.pzxid):
                return False
            result.set((_names(names), znode_stat(last.stat)))
            return True

        def fail(err: Exception) -> None:
            self._watches.forget(request)
            result.set_exception(to_kazoo(err))

        def read_again() -> None:
            try:
                for _ in range(CHILDREN_WITH_STAT_ATTEMPTS):
                    if answer(
                        backend.exists(request.path),
                        backend.get_children(request.path, watch=watch),
                        backend.exists(request.path),
                    ):
                        return
                raise OperationTimeoutError(
                    f"The children of {request.path} changed during each of {CHILDREN_WITH_STAT_ATTEMPTS} reads"
                )
            except Exception as err:
                fail(err)

        def done(_last: Future[Node | None]) -> None:
            # Completed in the session's order: the two reads before are done too.
            try:
                if not answer(before.get(), children.get(), after.get()):
                    self._spawn(read_again)  # not on the client's callback thread: these reads block
            except Exception as err:
                fail(err)

        after.add_callback(done)

    def _get_acl(self, request: Any, result: Any) -> None:
        future = self._backend.exists_async(request.path)

        def convert(node: Node | None) -> object:
            if node is None:
                raise NoNodeError(request.path)
            return list(OPEN_ACL), znode_stat(node.stat)

        self._complete(request, future, result, convert)

    def _set_acl(self, request: Any, result: Any) -> None:
        """Setting the open ACL changes nothing (every node has it); any other ACL is refused."""
        check_acl(request.acls)
        future = self._backend.exists_async(request.path)

        def convert(node: Node | None) -> object:
            if node is None:
                raise NoNodeError(request.path)
            if request.version not in (-1, node.stat.aversion):
                raise BadVersionError(f"ACL version {request.version} of {request.path} does not match")
            return znode_stat(node.stat)

        self._complete(request, future, result, convert)


def _names(children: list[Node]) -> list[str]:
    return [paths.name(child.path) for child in children]
