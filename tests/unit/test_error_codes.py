"""An error reported by code is rebuilt as FaaSKeeper's own exception of that code."""

from __future__ import annotations

import pytest

from faaskeeper.exceptions import (
    BadVersionError,
    FaaSKeeperException,
    NodeDoesntExistException,
    RolledBackException,
    RuntimeInconsistencyException,
    ZooKeeperException,
    from_code,
)


class _LookAlike(ZooKeeperException):
    """A class defined outside the library that repeats a code it does not own."""

    code = "RolledBack"


class _Inheriting(NodeDoesntExistException):
    """A subclass that inherits its parent's code."""


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("RolledBack", RolledBackException),
        ("RuntimeInconsistency", RuntimeInconsistencyException),
        ("NoNode", NodeDoesntExistException),
        ("BadVersion", BadVersionError),
    ],
)
def test_a_code_rebuilds_the_librarys_exception_whatever_else_claims_it(
    code: str, expected: type[FaaSKeeperException]
) -> None:
    rebuilt = from_code(code, "message", "/a", 3)
    assert type(rebuilt) is expected


def test_an_unknown_code_is_the_base_exception_with_its_message() -> None:
    rebuilt = from_code("NoSuchCode", "what happened")
    assert type(rebuilt) is FaaSKeeperException
    assert "what happened" in str(rebuilt)
