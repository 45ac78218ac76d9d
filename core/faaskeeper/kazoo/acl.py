"""ACLs: FaaSKeeper has none, so only the open ACL (what a node without an ACL means) is accepted."""

from __future__ import annotations

from collections.abc import Sequence

from kazoo.exceptions import InvalidACLError
from kazoo.security import OPEN_ACL_UNSAFE

OPEN_ACL: list[object] = list(OPEN_ACL_UNSAFE)


def check_acl(acl: Sequence[object] | None) -> None:
    """Accept no ACL or ``OPEN_ACL_UNSAFE``; refuse anything else with InvalidACLError naming why."""
    if not acl or list(acl) == OPEN_ACL:
        return
    raise InvalidACLError(
        f"FaaSKeeper has no access control: only OPEN_ACL_UNSAFE (or no ACL) is accepted, got {list(acl)!r}"
    )
