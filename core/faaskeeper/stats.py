"""Process-wide statistics of a client's storage reads and queue sends (the upstream client's
``StorageStatistics``).

Every client in the process adds to the one :meth:`StorageStatistics.instance`: each read of user
storage adds a read unit and its time, each request sent to the writer queue a write unit and
its time. Times are in microseconds, as upstream. A unit here is one request; the upstream
client counted DynamoDB capacity units where it had them, which not every provider reports.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from faaskeeper.metering import READS, metered_as


class StorageStatistics:
    """Counts and times of storage reads and writes; ``reset()`` starts over."""

    _instance: ClassVar[StorageStatistics | None] = None
    _instance_guard: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._guard:
            self._read_units = 0
            self._write_units = 0
            self._read_times: list[float] = []
            self._write_times: list[float] = []

    @staticmethod
    def instance() -> StorageStatistics:
        """The process's statistics, which the clients add to."""
        with StorageStatistics._instance_guard:
            if StorageStatistics._instance is None:
                StorageStatistics._instance = StorageStatistics()
            return StorageStatistics._instance

    @property
    def read_units(self) -> int:
        return self._read_units

    def add_read_units(self, val: int) -> None:
        with self._guard:
            self._read_units += val

    @property
    def write_units(self) -> int:
        return self._write_units

    def add_write_units(self, val: int) -> None:
        with self._guard:
            self._write_units += val

    @property
    def read_times(self) -> list[float]:
        return self._read_times

    def add_read_time(self, val: float) -> None:
        with self._guard:
            self._read_times.append(val)

    @property
    def write_times(self) -> list[float]:
        return self._write_times

    def add_write_time(self, val: float) -> None:
        with self._guard:
            self._write_times.append(val)


@contextmanager
def counted_read() -> Iterator[None]:
    """Count one storage read, and its time, in the process's statistics; the requests it makes
    are metered as a read's (:data:`faaskeeper.metering.READS`)."""
    began = time.perf_counter()
    try:
        with metered_as(READS):
            yield
    finally:
        stats = StorageStatistics.instance()
        stats.add_read_units(1)
        stats.add_read_time(int((time.perf_counter() - began) * 1_000_000))


@contextmanager
def counted_write() -> Iterator[None]:
    """Count one request sent to the writer queue, and its time, in the process's statistics."""
    began = time.perf_counter()
    try:
        yield
    finally:
        stats = StorageStatistics.instance()
        stats.add_write_units(1)
        stats.add_write_time(int((time.perf_counter() - began) * 1_000_000))
