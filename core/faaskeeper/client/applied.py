"""How far a session's reads have seen the distributor apply the total order of writes, so that a
read never shows part of a write that changed several nodes after a read showed another part.

User storage is written one node at a time: a transaction's nodes, or a create's node and its
parent's children, appear one after the other. ZooKeeper applies each write whole, so a client
that saw any of its effect sees all of it from then on. Here that takes two facts:

- The distributor applies writes one at a time, in transaction order. A node read at
  transaction ``t`` (its czxid, mzxid or pzxid) proves every write before ``t`` applied whole.
- A write that changes several nodes records its :class:`~faaskeeper.node.Footprint` on each:
  its id and its sentinel, a node that existed before it and still does after it, written last.
  The write is whole once its sentinel shows it (or a later write), or is gone (a later write
  deleted it, so the distributor had finished this one).

A read that shows a footprint not yet proven whole leaves it pending; before the session's next
read, the client reads the sentinel of the latest pending write until it shows the write (one
extra read, and only when reads follow each other while the distributor is still applying).
"""

from __future__ import annotations

import threading

from faaskeeper.node import Footprint, Node, Stat


def shown(stat: Stat) -> int:
    """The latest transaction a node's stat shows: every write to a node sets its mzxid (a create
    too) or its pzxid, or deletes it."""
    return max(stat.mzxid, stat.pzxid)


def shows_whole(footprint: Footprint, sentinel: Node | None) -> bool:
    """Whether a read of ``footprint``'s sentinel proves its write applied whole."""
    return sentinel is None or shown(sentinel.stat) >= footprint.txn


class AppliedWrites:
    """A session's knowledge of the writes the distributor has applied whole (thread-safe: reads
    of one session may run at once)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        #: Every write up to this transaction is applied whole.
        self._through = 0
        #: Writes a read showed part of, not yet proven whole: transaction id to sentinel path.
        self._pending: dict[int, str] = {}

    @property
    def through(self) -> int:
        return self._through

    def saw(self, node: Node | None) -> None:
        """A read returned ``node`` (None: the node did not exist)."""
        if node is None:
            return
        latest = shown(node.stat)
        footprint = node.footprint
        with self._guard:
            self._advance(latest - 1)
            if footprint is None or footprint.txn <= self._through:
                return
            if footprint.sentinel == node.path and latest >= footprint.txn:
                self._advance(footprint.txn)
            else:
                self._pending[footprint.txn] = footprint.sentinel

    def applied(self, txn: int) -> None:
        """Every write up to ``txn`` is applied whole (a reply to this session's write said so)."""
        with self._guard:
            self._advance(txn)

    def unproven(self) -> Footprint | None:
        """The latest write a read showed part of and that is not known to be whole: once it is,
        so is every write before it."""
        with self._guard:
            if not self._pending:
                return None
            txn = max(self._pending)
            return Footprint(txn, self._pending[txn])

    def _advance(self, txn: int) -> None:
        if txn <= self._through:
            return
        self._through = txn
        for done in [t for t in self._pending if t <= txn]:
            del self._pending[done]
