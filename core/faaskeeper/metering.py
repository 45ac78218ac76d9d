"""Counting the billable requests a provider makes, for the cost report.

Each provider keeps a process-wide :class:`Meter` that its storage and queue clients add to,
keyed ``(service, unit)`` by what its cloud bills; a cost report takes snapshots before and
after an operation and prices their :func:`difference`.

Under concurrent load (``fk cost --rate``) the requests of many operations overlap: those a read
makes are counted a second time under :data:`READS` (the client's storage reads run inside
:func:`metered_as`), so that what remains can be given to the writes. The function hosts count
how many messages each invocation was handed in :data:`BATCHES` (:func:`count_batch`).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

Key = tuple[str, str]

#: The label of the requests made by the client's reads of user storage.
READS = "reads"

_label: ContextVar[str | None] = ContextVar("faaskeeper_metering_label", default=None)


@contextmanager
def metered_as(label: str) -> Iterator[None]:
    """Count what this thread meters inside the block under ``label`` too (:meth:`Meter.snapshot`)."""
    token = _label.set(label)
    try:
        yield
    finally:
        _label.reset(token)


class Meter:
    """A thread-safe counter keyed by ``(service, unit)``."""

    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()
        self._labelled: dict[str, Counter[Key]] = {}
        self._guard = threading.Lock()

    def add(self, service: str, unit: str, count: int = 1) -> None:
        if count:
            label = _label.get()
            with self._guard:
                self._counts[(service, unit)] += count
                if label is not None:
                    self._labelled.setdefault(label, Counter())[(service, unit)] += count

    def snapshot(self, label: str | None = None) -> dict[Key, int]:
        """Everything counted so far, or only what was counted inside :func:`metered_as` ``(label)``."""
        with self._guard:
            return dict(self._counts if label is None else self._labelled.get(label, Counter()))

    def reset(self) -> None:
        with self._guard:
            self._counts.clear()
            self._labelled.clear()


#: Messages per function invocation, counted by the function hosts: ``(function, str(messages))``
#: is the number of invocations of ``function`` that were handed ``messages`` messages.
BATCHES = Meter()


def count_batch(function: str, messages: int) -> None:
    """One invocation of ``function`` handed ``messages`` queue messages (or pushes)."""
    BATCHES.add(function, str(messages))


def batch_sizes(counts: Mapping[Key, int]) -> dict[str, dict[int, int]]:
    """``BATCHES`` counters (or their :func:`difference`) as function -> messages -> invocations."""
    sizes: dict[str, dict[int, int]] = {}
    for (function, messages), n in sorted(counts.items()):
        sizes.setdefault(function, {})[int(messages)] = n
    return {f: dict(sorted(by.items())) for f, by in sizes.items()}


def difference(after: Mapping[Key, int], before: Mapping[Key, int]) -> dict[Key, int]:
    """What was counted between two snapshots (only the keys that grew)."""
    return {key: n - before.get(key, 0) for key, n in sorted(after.items()) if n != before.get(key, 0)}
