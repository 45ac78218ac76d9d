"""Node versions: ordered system counters, as the upstream FaaSKeeper client exposes them.

The upstream client built its counters either from raw values or from the DynamoDB attribute
values it read (``{"L": [{"N": "5"}]}``, ``{"SS": ["a"]}``); both forms are accepted here, and the
DynamoDB form is decoded without the AWS SDK.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import total_ordering
from typing import Any

from faaskeeper.exceptions import MalformedInputException


def decode_dynamodb(item: Mapping[str, Any]) -> Any:
    """The Python value of one DynamoDB attribute value (``{"N": "5"}`` -> 5, ``{"SS": [...]}`` ->
    a set, ``{"L": [...]}`` -> a list, ``{"M": {...}}`` -> a dict), as boto3's TypeDeserializer
    gives it, except that whole numbers are ints."""
    if not isinstance(item, Mapping) or len(item) != 1:
        raise MalformedInputException(f"Not a DynamoDB attribute value: {item!r}")
    ((tag, value),) = item.items()
    if tag == "N":
        return _number(value)
    if tag in ("S", "B", "BOOL"):
        return value
    if tag == "NULL":
        return None
    if tag == "NS":
        return {_number(v) for v in value}
    if tag in ("SS", "BS"):
        return set(value)
    if tag == "L":
        return [decode_dynamodb(v) for v in value]
    if tag == "M":
        return {k: decode_dynamodb(v) for k, v in value.items()}
    raise MalformedInputException(f"Unknown DynamoDB type {tag!r} in {item!r}")


def _number(text: object) -> int | float:
    number = float(str(text))
    return int(number) if number.is_integer() and "." not in str(text) else number


class AWSDecoder:
    """Flattens the DynamoDB form of a counter (a number, a list or set of numbers, nested lists)
    into its integers, as the upstream client read system counters from DynamoDB."""

    @staticmethod
    def _decode_aws_schema_impl(items: Mapping[str, Any]) -> list[str]:
        result: list[str] = []
        for key, value in items.items():
            if key == "L":
                for item in value:
                    result.extend(AWSDecoder._decode_aws_schema_impl(item))
            elif isinstance(value, list):
                result.extend(value)
            else:
                result.append(value)
        return result

    @staticmethod
    def _decode_aws_schema(items: Mapping[str, Any]) -> list[int]:
        return [int(x) for x in AWSDecoder._decode_aws_schema_impl(items)]


@total_ordering
class SystemCounter:
    """An ordered counter of the system's transactions.

    A node's ``created.system`` is the transaction that created it and stays fixed; its
    ``modified.system`` grows with every write to the node. Counters compare by ``sum``.

    :param provider_data: the counter as DynamoDB stores it (``{"L": [{"N": "5"}]}``), or None
    :param version: the counter's integers, or None (one of the two must be given)
    """

    __slots__ = ("_provider_data", "_values")

    def __init__(self, provider_data: Mapping[str, Any] | None = None, version: Iterable[int] | None = None) -> None:
        if version is None and provider_data is None:
            raise MalformedInputException("A SystemCounter needs its provider_data or its version")
        self._provider_data = dict(provider_data) if provider_data is not None else None
        if version is not None:
            self._values = tuple(int(v) for v in version)
        else:
            assert provider_data is not None
            self._values = tuple(AWSDecoder._decode_aws_schema(provider_data))

    @staticmethod
    def from_provider_schema(provider_data: Mapping[str, Any]) -> SystemCounter:
        """The counter from its DynamoDB form."""
        return SystemCounter(provider_data, None)

    @staticmethod
    def from_raw_data(counter_data: Iterable[int]) -> SystemCounter:
        return SystemCounter(None, counter_data)

    @property
    def version(self) -> dict[str, Any]:
        """The counter in its DynamoDB form (a list of numbers)."""
        if self._provider_data is None:
            self._provider_data = {"L": [{"N": str(v)} for v in self._values]}
        return self._provider_data

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
    """The watch notifications that were in flight when a node version was written.

    :param provider_data: the set as DynamoDB stores it (``{"SS": [...]}`` or a list), or None
    :param version: the notifications' ids, or None (none in flight)
    """

    __slots__ = ("_provider_data", "_values")

    def __init__(self, provider_data: Mapping[str, Any] | None = None, version: Iterable[str] | None = None) -> None:
        self._provider_data = dict(provider_data) if provider_data is not None else None
        if version is not None:
            self._values = frozenset(str(v) for v in version)
        elif provider_data is not None:
            decoded = decode_dynamodb(provider_data)
            self._values = frozenset(str(v) for v in decoded) if decoded is not None else frozenset()
        else:
            self._values = frozenset()

    @staticmethod
    def from_provider_schema(provider_data: Mapping[str, Any]) -> EpochCounter:
        """The counter from its DynamoDB form."""
        return EpochCounter(provider_data, None)

    @staticmethod
    def from_raw_data(counter_data: Iterable[str]) -> EpochCounter:
        return EpochCounter(None, counter_data)

    @property
    def provider_data(self) -> dict[str, Any] | None:
        """The DynamoDB form it was built from, or None if it was built from raw data."""
        return self._provider_data

    @property
    def version(self) -> set[str]:
        """The notifications' ids (a new set each time: changing it changes nothing here)."""
        return set(self._values)

    def serialize(self) -> list[str]:
        return sorted(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EpochCounter):
            return NotImplemented
        return self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)

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
