"""Loading a provider's price table: a frozen dataclass of list prices, overridden from JSON.

A table's fields are numbers (USD in the unit the cloud publishes them), strings (its sources
and date) and ``vm_hourly``, USD per hour by VM type. A file gives any of them by field name
(``-`` or ``_``); VM prices given are merged with the defaults, type by type.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields, replace
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from faaskeeper.exceptions import ConfigurationException

T = TypeVar("T")


def load_prices(table: type[T], path: str | Path) -> T:
    """``table``'s defaults with those given in the JSON object at ``path`` replacing them."""
    try:
        data: Any = json.loads(Path(path).read_text())
    except OSError as err:
        raise ConfigurationException(f"Cannot read price file {path}: {err.strerror}") from err
    except json.JSONDecodeError as err:
        raise ConfigurationException(f"Price file {path} is not valid JSON: {err}") from err
    return prices_from_dict(table, data)


def prices_from_dict(table: type[T], data: Any) -> T:
    """``table``'s defaults with those in ``data`` replacing them; ConfigurationException naming a bad one."""
    if not isinstance(data, dict):
        raise ConfigurationException("A price table must be a JSON object")
    defaults: Any = table()
    known = {f.name: f for f in fields(defaults)}
    changes: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise ConfigurationException(f"Unknown price {key!r}; known: {', '.join(sorted(known))}")
        if name == "vm_hourly":
            value = {**defaults.vm_hourly, **_vm_prices(key, value)}
        elif known[name].type == "str":
            if not isinstance(value, str):
                raise ConfigurationException(f"Price field {key!r} must be a string, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationException(f"Price {key!r} must be a non-negative number, got {value!r}")
        changes[name] = value
    result: T = replace(defaults, **changes)
    return result


def vm_price(vm_hourly: Mapping[str, float], instance: str) -> float:
    """The hourly price of a VM type; a ConfigurationException names the known ones."""
    try:
        return vm_hourly[instance]
    except KeyError:
        raise ConfigurationException(
            f"No price for instance type {instance!r}; known: {', '.join(sorted(vm_hourly))} "
            f'(add it with --prices: {{"vm_hourly": {{"{instance}": USD_PER_HOUR}}}})'
        ) from None


def _vm_prices(key: str, value: Any) -> dict[str, float]:
    if not isinstance(value, dict):
        raise ConfigurationException(f"Price field {key!r} must be an object of instance type to USD per hour")
    for instance, price in value.items():
        if isinstance(price, bool) or not isinstance(price, int | float) or price < 0:
            raise ConfigurationException(
                f"Price of instance type {instance!r} must be a non-negative number, got {price!r}"
            )
    return {str(k): float(v) for k, v in value.items()}


class PriceTableMethods:
    """What every price table does alike; mixed into a provider's frozen dataclass of prices."""

    vm_hourly: Mapping[str, float]

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """The default prices with those given in the JSON object at ``path`` replacing them."""
        return load_prices(cls, path)

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        return prices_from_dict(cls, data)

    def to_dict(self) -> dict[str, Any]:
        table: Any = self
        return asdict(table)

    def vm_per_hour(self, instance: str) -> float:
        """The hourly price of an instance type; a ConfigurationException names the known ones."""
        return vm_price(self.vm_hourly, instance)


class UnitsMethods:
    """What every provider's billable units do alike; mixed into a frozen dataclass of floats."""

    #: The entry of :meth:`costs` that is the functions' duration charge.
    duration_cost: ClassVar[str]

    def costs(self, prices: Any) -> dict[str, float]:
        """USD per service."""
        raise NotImplementedError

    def cost(self, prices: Any, *, duration: bool = True) -> float:
        """USD of these units; without the functions' duration charge if ``duration`` is false."""
        costs = self.costs(prices)
        if not duration:
            costs.pop(self.duration_cost)
        return sum(costs.values())

    def to_dict(self) -> dict[str, float]:
        units: Any = self
        return asdict(units)
