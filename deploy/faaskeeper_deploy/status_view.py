"""How ``fk status`` shows a deployment: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

#: Keys of :class:`faaskeeper.api.provider.DeploymentStatus` shown in their own place.
_KNOWN = frozenset(
    {"provider", "deployed", "deployment", "resources", "sessions", "nodes", "watches", "queues", "details"}
)
_COUNTS = (("sessions", "live sessions"), ("nodes", "nodes"), ("watches", "watches"))
#: How a queue table shows a count that the platform does not tell.
UNKNOWN = "-"


def status_json(status: Mapping[str, Any]) -> str:
    """The status as JSON; keys as in DeploymentStatus (``in_flight``, ``dead_letters``, ...)."""
    return json.dumps(status, indent=2, sort_keys=False, default=str)


def status_view(status: Mapping[str, Any]) -> RenderableType:
    """A heading, the counts, then tables of the resources and queues and the provider's details.

    Keys a provider adds beyond DeploymentStatus are shown with the details.
    """
    parts: list[RenderableType] = [_heading(status)]
    counts = [(label, status[key]) for key, label in _COUNTS if key in status]
    if counts:
        parts.append(Text("   ".join(f"{label}: {value}" for label, value in counts)))
    if status.get("resources"):
        parts.append(_resources(status["resources"]))
    if status.get("queues"):
        parts.append(_queues(status["queues"]))
    details = {**status.get("details", {}), **{k: v for k, v in status.items() if k not in _KNOWN}}
    if details:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column(overflow="fold")
        for label, value in details.items():
            grid.add_row(str(label), str(value))
        parts.append(grid)
    return Group(*parts)


#: Columns of the tables written to a file or pipe, where no terminal limits the width.
LOG_WIDTH = 160


def print_status(status: Mapping[str, Any], console: Console | None = None) -> None:
    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=LOG_WIDTH)
    console.print(status_view(status))


def _heading(status: Mapping[str, Any]) -> Text:
    name = status.get("deployment")
    heading = Text(f"{status.get('provider')} deployment", style="bold")
    if name is not None:
        heading.append(f" {name!r}", style="bold")
    deployed = bool(status.get("deployed"))
    heading.append(": ")
    heading.append("deployed" if deployed else "not deployed", style="green" if deployed else "yellow")
    return heading


def _resources(resources: list[Mapping[str, Any]]) -> Table:
    table = Table(title="resources", title_justify="left", expand=False)
    table.add_column("kind", overflow="fold")
    table.add_column("name", overflow="fold")
    table.add_column("state", overflow="fold")
    for resource in resources:
        state = str(resource.get("state", ""))
        style = "red" if "FAILED" in state else "yellow" if "PROGRESS" in state else None
        table.add_row(str(resource.get("kind", "")), str(resource.get("name", "")), Text(state, style=style or ""))
    return table


def _queues(queues: list[Mapping[str, Any]]) -> Table:
    table = Table(title="queues", title_justify="left", expand=False)
    table.add_column("queue", overflow="fold")
    for heading in ("waiting", "in flight", "dead letters"):
        table.add_column(heading, justify="right")
    for queue in queues:
        dead = queue.get("dead_letters")
        table.add_row(
            str(queue.get("name", "")),
            _count(queue.get("waiting")),
            _count(queue.get("in_flight")),
            Text(_count(dead), style="red" if dead else ""),
        )
    return table


def _count(value: object) -> str:
    """A queue's count; one the platform does not tell (None) as a dash."""
    return UNKNOWN if value is None else str(value)
