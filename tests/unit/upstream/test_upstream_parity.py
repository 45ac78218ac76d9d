"""Every public name of the upstream FaaSKeeper client exists here with a compatible signature.

Compatible: the upstream's parameters come first, in the same order, with the same names and
defaults; any parameter added here has a default. The inventory is in :mod:`.inventory`.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from . import inventory

ROOT = Path(__file__).resolve().parents[3]
POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def resolve(target: str) -> Any:
    module, _, qualified = target.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualified.split("."):
        found = getattr(found, part)
    return found


def owner_and_name(target: str) -> tuple[Any, str]:
    head, _, name = target.rpartition(".")
    if ":" not in head:
        return importlib.import_module(target.partition(":")[0]), target.partition(":")[2]
    return resolve(head), name


def upstream_signature(params: str) -> inspect.Signature:
    function = eval(f"lambda {params}: None")  # the inventory's literal parameter lists
    return inspect.signature(function)


def our_signature(target: str) -> inspect.Signature:
    found = resolve(target)
    if inspect.isclass(found):
        return inspect.signature(found)
    owner, name = owner_and_name(target)
    static = inspect.getattr_static(owner, name) if inspect.isclass(owner) else found
    if isinstance(static, staticmethod | classmethod):
        return inspect.signature(found)
    # a plain method: its signature with self, as upstream lists it
    return inspect.signature(static)


def incompatibilities(ours: inspect.Signature, theirs: inspect.Signature) -> list[str]:
    problems: list[str] = []
    our_positional = [p for p in ours.parameters.values() if p.kind in POSITIONAL]
    their_params = list(theirs.parameters.values())
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in their_params):
        their_params = [p for p in their_params if p.kind is not inspect.Parameter.VAR_POSITIONAL]
        if not any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in ours.parameters.values()):
            problems.append("takes no *args")
    for index, theirs_param in enumerate(their_params):
        if index >= len(our_positional):
            problems.append(f"missing parameter {theirs_param.name!r}")
            continue
        mine = our_positional[index]
        if mine.name != theirs_param.name:
            problems.append(f"parameter {index} is {mine.name!r}, upstream {theirs_param.name!r}")
        if theirs_param.default is inspect.Parameter.empty:
            continue
        if mine.default is inspect.Parameter.empty or mine.default != theirs_param.default:
            problems.append(f"{mine.name!r} defaults to {mine.default!r}, upstream {theirs_param.default!r}")
    for extra in list(ours.parameters.values())[len(their_params) :]:
        required = extra.default is inspect.Parameter.empty
        if required and extra.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            problems.append(f"added parameter {extra.name!r} has no default")
    return problems


def test_the_checker_finds_an_incompatible_signature() -> None:
    theirs = upstream_signature("self, path, value=b'', version=-1")
    assert incompatibilities(inspect.signature(lambda self, path, value=b"", version=-1, *, x=1: None), theirs) == []
    assert incompatibilities(inspect.signature(lambda self, path, version=-1: None), theirs) != []
    assert incompatibilities(inspect.signature(lambda self, path, value=b"", version=0: None), theirs) != []
    assert incompatibilities(inspect.signature(lambda self, path, value=b"", version=-1, x=None: None), theirs) == []
    assert incompatibilities(inspect.signature(lambda self, path, value=b"", version=-1, *, x: None), theirs) != []
    variadic = upstream_signature("timeout, interval, condition, *args")
    assert incompatibilities(inspect.signature(lambda timeout, interval, condition, *args: None), variadic) == []
    assert incompatibilities(inspect.signature(lambda timeout, interval, condition: None), variadic) != []


@pytest.mark.parametrize("name", sorted(inventory.PACKAGE_EXPORTS))
def test_the_package_exports_what_upstream_exported(name: str) -> None:
    import faaskeeper

    assert getattr(faaskeeper, name) is getattr(importlib.import_module(inventory.PACKAGE_EXPORTS[name]), name)
    assert name in dir(faaskeeper)


@pytest.mark.parametrize("target", sorted(inventory.SIGNATURES))
def test_signature_matches_upstream(target: str) -> None:
    problems = incompatibilities(our_signature(target), upstream_signature(inventory.SIGNATURES[target]))
    assert problems == [], f"{target}: {problems}"


def _readable_and_writable(cls: type, name: str) -> tuple[bool, bool]:
    static = inspect.getattr_static(cls, name, None)
    if isinstance(static, property):
        return static.fget is not None, static.fset is not None
    if dataclasses.is_dataclass(cls) and name in {f.name for f in dataclasses.fields(cls)}:
        return True, True
    if inspect.isdatadescriptor(static):  # a __slots__ member
        return True, True
    return False, False


PROPERTY_CASES = sorted(
    (cls, name, mode) for cls, props in inventory.PROPERTIES.items() for name, mode in props.items()
)


@pytest.mark.parametrize(("target", "name", "mode"), PROPERTY_CASES)
def test_property_exists_as_upstream(target: str, name: str, mode: str) -> None:
    readable, writable = _readable_and_writable(resolve(target), name)
    assert readable, f"{target}.{name} is not a property here"
    if mode == "rw":
        assert writable, f"{target}.{name} has a setter upstream but is read-only here"


@pytest.mark.parametrize("target", sorted(inventory.ENUMS))
def test_enum_has_the_upstream_members(target: str) -> None:
    cls = resolve(target)
    assert issubclass(cls, Enum)
    members = list(cls.__members__)
    missing = [m for m in inventory.ENUMS[target] if m not in members]
    assert missing == []
    assert [m for m in members if m in inventory.ENUMS[target]] == inventory.ENUMS[target], "upstream order"


@pytest.mark.parametrize("target", sorted(inventory.DESERIALIZED))
def test_enum_deserializes_the_upstream_strings(target: str) -> None:
    cls = resolve(target)
    for text, member in inventory.DESERIALIZED[target].items():
        assert cls.deserialize(text) is cls[member]


def test_watch_event_types_by_upstream_number_and_string() -> None:
    from faaskeeper.watch import WatchEventType

    for number, member in inventory.WATCH_EVENT_NUMBERS.items():
        assert WatchEventType(number) is WatchEventType[member]
    for member, text in inventory.WATCH_EVENT_STRINGS.items():
        assert str(WatchEventType[member]) == text


@pytest.mark.parametrize("name", sorted(inventory.EXCEPTIONS))
def test_exception_sits_where_it_sat_upstream(name: str) -> None:
    import faaskeeper.exceptions as exceptions

    base, params = inventory.EXCEPTIONS[name]
    cls = getattr(exceptions, name)
    expected_base = Exception if base == "Exception" else getattr(exceptions, base)
    assert issubclass(cls, expected_base)
    assert incompatibilities(inspect.signature(cls), upstream_signature(params)) == []
    args: dict[str, Any] = {"msg": "boom", "path": "/a/b", "version": 3, "time": 5.0}
    raised = cls(*[args[p] for p in upstream_signature(params).parameters])
    assert str(raised)
    with pytest.raises(expected_base):
        raise raised


@pytest.mark.parametrize("target", inventory.NAMES)
def test_other_public_names_exist(target: str) -> None:
    assert resolve(target) is not None


@pytest.mark.parametrize("target", sorted(inventory.NOT_PROVIDED))
def test_what_is_not_provided_is_said_in_the_docs(target: str) -> None:
    pages = [ROOT / "docs" / "client.md", *sorted((ROOT / "docs" / "reference").glob("*.md"))]
    docs = "\n".join(p.read_text() for p in pages)
    module, _, name = target.partition(":")
    assert f"`{module}.{name}`" in docs, f"the docs do not say why {target} is not provided"
    with pytest.raises(AttributeError):
        resolve(target)


def test_the_inventory_is_complete_for_each_module() -> None:
    """Every upstream module of the inventory is covered, so a module cannot drop out unnoticed."""
    covered = {
        t.partition(":")[0] for t in [*inventory.SIGNATURES, *inventory.PROPERTIES, *inventory.ENUMS, *inventory.NAMES]
    }
    upstream_modules = {
        "faaskeeper.client",
        "faaskeeper.config",
        "faaskeeper.node",
        "faaskeeper.version",
        "faaskeeper.watch",
        "faaskeeper.threading",
        "faaskeeper.stats",
        "faaskeeper.operations",
        "faaskeeper.providers.provider",
        "faaskeeper.providers.serialization",
        "faaskeeper.providers.aws",
        "faaskeeper.queue",
    }
    assert upstream_modules <= covered


def inventory_size() -> int:
    return (
        len(inventory.PACKAGE_EXPORTS)
        + len(inventory.SIGNATURES)
        + len(PROPERTY_CASES)
        + sum(len(m) for m in inventory.ENUMS.values())
        + len(inventory.EXCEPTIONS)
        + len(inventory.NAMES)
    )


def test_a_known_provider_reads_as_its_name() -> None:
    from faaskeeper.config import CloudProvider, Config

    cfg = Config.deserialize({"cloud-provider": "gcp", "deployment-name": "dev"})
    assert cfg.cloud_provider is CloudProvider.GCP
    assert f"{cfg.cloud_provider} {cfg.cloud_provider!r}" == "gcp 'gcp'"
    assert Config.deserialize({"cloud-provider": "memory", "deployment-name": "dev"}).cloud_provider == "memory"
