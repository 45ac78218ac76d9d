"""Counting the billable requests a provider makes, for the cost report.

Each provider keeps a process-wide :class:`Meter` that its storage and queue clients add to,
keyed ``(service, unit)`` by what its cloud bills; a cost report takes snapshots before and
after an operation and prices their :func:`difference`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping

Key = tuple[str, str]


class Meter:
    """A thread-safe counter keyed by ``(service, unit)``."""

    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()
        self._guard = threading.Lock()

    def add(self, service: str, unit: str, count: int = 1) -> None:
        if count:
            with self._guard:
                self._counts[(service, unit)] += count

    def snapshot(self) -> dict[Key, int]:
        with self._guard:
            return dict(self._counts)

    def reset(self) -> None:
        with self._guard:
            self._counts.clear()


def difference(after: Mapping[Key, int], before: Mapping[Key, int]) -> dict[Key, int]:
    """What was counted between two snapshots (only the keys that grew)."""
    return {key: n - before.get(key, 0) for key, n in sorted(after.items()) if n != before.get(key, 0)}
