"""The steps of a long ``fk deploy``, ``remove`` or ``status``, as the provider reports them.

On a terminal: a spinner with the elapsed time on the running step, and a tick with its time on
each step done. Otherwise (a log, a pipe) one ``provider: step`` line as each step begins.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn


class StepReporter:
    """A :class:`faaskeeper.api.provider.Reporter` that shows each step on ``console``."""

    def __init__(self, provider: str, console: Console) -> None:
        self.provider = provider
        self.console = console
        self.steps: list[str] = []
        self._started = 0.0
        self._live: Progress | None = None
        self._task: TaskID | None = None
        if console.is_terminal:
            self._live = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )

    def step(self, description: str) -> None:
        self._settle("[green]✓[/green]")
        self.steps.append(description)
        self._started = time.monotonic()
        if self._live is None:
            self.console.print(f"{self.provider}: {description}", markup=False, highlight=False, soft_wrap=True)
            return
        text = f"{escape(self.provider)}: {escape(description)}"
        if self._task is None:
            self._live.start()
            self._task = self._live.add_task(text, total=None)
        else:
            self._live.reset(self._task, description=text)

    def finish(self, failed: bool = False) -> None:
        """The last step ended (``failed``: with an error); stop the spinner."""
        self._settle("[red]✗[/red]" if failed else "[green]✓[/green]")
        if self._live is not None and self._task is not None:
            self._live.stop()
            self._task = None

    def _settle(self, mark: str) -> None:
        """On a terminal, print the running step as ended with ``mark`` and its time."""
        if self._live is None or self._task is None or not self.steps:
            return
        took = time.monotonic() - self._started
        self._live.console.print(
            f"{mark} {escape(self.provider)}: {escape(self.steps[-1])} [dim]({took:.1f} s)[/dim]", highlight=False
        )


@contextmanager
def reporting(provider: str, console: Console | None = None) -> Iterator[StepReporter]:
    """A reporter for ``provider``'s steps on standard error, finished when the block ends."""
    reporter = StepReporter(provider, console or Console(stderr=True))
    try:
        yield reporter
    except BaseException:
        reporter.finish(failed=True)
        raise
    reporter.finish()
