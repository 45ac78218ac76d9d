"""Node versions: ordered system counters, as the upstream FaaSKeeper client exposes them."""

from __future__ import annotations

from collections.abc import Iterable
from functools import total_ordering


@total_ordering
class SystemCounter:
    """An ordered counter of the system's transactions.

    A node's ``created.system`` is the transaction that created it and stays fixed; its
    ``modified.system`` grows with every write to the node. Counters compare by ``sum``.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[int]) -> None:
        self._values = tuple(int(v) for v in values)

    @staticmethod
    def from_raw_data(values: Iterable[int]) -> SystemCounter:
        return SystemCounter(values)

    @property
    def sum(self) -> int:
        return sum(self._values)

    def serialize(self) -> list[int]:
        return list(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SystemCounter):
            return NotImplemented
        return self.sum == other.sum

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SystemCounter):
            return NotImplemented
        return self.sum < other.sum

    def __hash__(self) -> int:
        return hash(self.sum)

    def __repr__(self) -> str:
        return f"SystemCounter({list(self._values)})"


class EpochCounter:
    """The watch notifications that were in flight when a node version was written."""

    __slots__ = ("_values",)

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values = frozenset(values)

    @staticmethod
    def from_raw_data(values: Iterable[str]) -> EpochCounter:
        return EpochCounter(values)

    @property
    def version(self) -> frozenset[str]:
        return self._values

    def serialize(self) -> list[str]:
        return sorted(self._values)

    def __repr__(self) -> str:
        return f"EpochCounter({sorted(self._values)})"


class Version:
    """A node version: the system counter and, in user storage, the epoch counter."""

    __slots__ = ("epoch", "system")

    def __init__(self, system: SystemCounter, epoch: EpochCounter | None = None) -> None:
        self.system = system
        self.epoch = epoch

    def serialize(self) -> dict[str, list[int] | list[str]]:
        out: dict[str, list[int] | list[str]] = {"system": self.system.serialize()}
        if self.epoch is not None:
            out["epoch"] = self.epoch.serialize()
        return out

    def __repr__(self) -> str:
        return f"Version(system={self.system!r}, epoch={self.epoch!r})"
