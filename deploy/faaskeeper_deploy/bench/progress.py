"""Progress of ``fk bench``: phases with a known amount of work, shown as lines or as rich progress bars."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any, TextIO


class Progress:
    """Receives the phases of a run and the work done in each; this base class shows nothing.

    The workloads call :meth:`phase` before each measured stretch (with how many timed and warm-up
    units it holds) and :meth:`advance` after each block of them, never inside a timed call."""

    def phase(self, description: str, total: int | None = None) -> None:
        """A new stretch of work begins: ``total`` units (calls, rounds), if known."""

    def advance(self, count: int = 1) -> None:
        """``count`` more units of the current phase are done."""

    def close(self) -> None:
        """The run is over (or was interrupted): release the display."""


class LineProgress(Progress):
    """A line per phase, passed to a function, and one with the work done at most every ``every`` seconds.

    For logs and pipes, where a bar cannot redraw: a long phase still shows that it moves."""

    def __init__(self, write: Callable[[str], None], every: float | None = None) -> None:
        self._write = write
        self._every = every
        self._description = ""
        self._total: int | None = None
        self._done = 0
        self._last = time.monotonic()

    def phase(self, description: str, total: int | None = None) -> None:
        self._description, self._total, self._done = description, total, 0
        self._last = time.monotonic()
        self._write(description)

    def advance(self, count: int = 1) -> None:
        self._done += count
        if self._every is None:
            return
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            total = f" of {self._total}" if self._total is not None else ""
            self._write(f"{self._description}: {self._done}{total} done")


class RichProgress(Progress):
    """A rich progress bar per phase on standard error, each kept once done."""

    def __init__(self, stream: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bars

        self._bars: Any = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream or sys.stderr),
        )
        self._task: Any = None
        self._bars.start()

    def phase(self, description: str, total: int | None = None) -> None:
        if self._task is not None:
            self._finish()
        self._task = self._bars.add_task(description, total=total)

    def advance(self, count: int = 1) -> None:
        if self._task is not None:
            self._bars.advance(self._task, count)

    def _finish(self) -> None:
        task = next(t for t in self._bars.tasks if t.id == self._task)
        if task.total is not None and task.completed >= task.total:
            self._bars.update(self._task, description=f"[green]{task.description}")

    def close(self) -> None:
        if self._task is not None:
            self._finish()
            self._task = None
        self._bars.stop()


def as_progress(progress: Progress | Callable[[str], None] | None) -> Progress:
    """A :class:`Progress` from what :func:`~faaskeeper_deploy.bench.run_bench` accepts."""
    if progress is None:
        return Progress()
    if isinstance(progress, Progress):
        return progress
    return LineProgress(progress)
