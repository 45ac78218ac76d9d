"""The distributor's claim of a transaction (:meth:`SystemStorage.claim_transaction`) worked out
on node rows, for storages that read and write every row of a claim in one atomic step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from faaskeeper.api.storage import SystemNode


def claim_node(node: SystemNode | None, txn: int, *, deciding: bool) -> tuple[bool, SystemNode | None]:
    """Whether the claim of ``txn`` holds on this row, and the row after it (the same object when
    it is left as it is, None when it is dropped)."""
    if node is None:
        return not deciding, None
    if node.claimed > txn:
        return False, node
    if txn not in node.pending:
        return (node.claimed == txn or not deciding), node
    claimed = replace(node, pending=tuple(t for t in node.pending if t != txn), claimed=txn)
    if not claimed.exists and not claimed.pending and claimed.lock is None:
        return True, None
    return True, claimed


def claim_rows(
    rows: Mapping[str, SystemNode | None], paths: Sequence[str], txn: int
) -> dict[str, SystemNode | None] | None:
    """The rows of ``paths`` that claiming ``txn`` changes, as it leaves them (None: dropped);
    None if the claim fails."""
    changed: dict[str, SystemNode | None] = {}
    for path in dict.fromkeys(reversed(paths)):
        before = rows.get(path)
        holds, after = claim_node(before, txn, deciding=path == paths[-1])
        if not holds:
            return None
        if after is not before:
            changed[path] = after
    return changed
