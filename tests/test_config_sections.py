"""Each provider names the keys of its config section, so that a misspelt one is reported with
the key it most resembles, as fk reports a misspelt top-level key."""

from __future__ import annotations

import re

import pytest

from faaskeeper.config import Config
from faaskeeper.exceptions import ConfigurationException
from faaskeeper.plugins.manager import get_provider
from faaskeeper_deploy.config_file import unknown_key_warnings

#: What each provider's config needs besides its section.
REQUIRED = {
    "aws": {"deployment-region": "us-east-1"},
    "gcp": {"user-storage": "key-value"},
    "local": {},
}


def _config(provider: str, section: dict[str, object]) -> Config:
    data = {"cloud-provider": provider, "deployment-name": "d", **REQUIRED[provider], provider: section}
    return Config.deserialize(data)


@pytest.mark.parametrize("provider", sorted(REQUIRED))
def test_every_key_a_provider_reads_is_known(provider: str) -> None:
    keys = get_provider(provider).config_keys()
    assert keys, f"{provider} names no section keys"
    config = _config(provider, dict.fromkeys(keys, "x"))
    assert unknown_key_warnings(config, get_provider(provider)) == []


@pytest.mark.parametrize(
    ("provider", "typo", "meant"),
    [
        ("aws", "data-buckt", "data-bucket"),
        ("aws", "visibility-timout", "visibility-timeout"),
        ("gcp", "functions-endpont", "functions-endpoint"),
        ("gcp", "servce-account", "service-account"),
        ("local", "lock-max-hld", "lock-max-hold"),
    ],
)
def test_a_misspelt_section_key_is_reported_with_the_key_it_resembles(provider: str, typo: str, meant: str) -> None:
    config = _config(provider, {typo: 1, "colour": "blue"})
    assert unknown_key_warnings(config, get_provider(provider)) == [
        f"unknown config key '{provider}.{typo}' is ignored (did you mean '{provider}.{meant}'?)",
        f"unknown config key '{provider}.colour' is ignored",
    ]


#: Every number of each provider's section, with its range as the error states it.
SECTION_NUMBERS = [
    ("local", "lock-max-hold", "a number from 0.01 to 3600 seconds"),
    ("local", "visibility-timeout", "a number from 0.01 to 43200 seconds"),
    ("local", "max-receives", "an integer from 1 to 1000"),
    ("aws", "function-timeout", "an integer from 1 to 900"),
    ("aws", "function-memory", "an integer from 128 to 10240"),
    ("aws", "heartbeat-timeout", "an integer from 1 to 900"),
    ("aws", "visibility-timeout", "an integer from 0 to 43200"),
    ("aws", "max-receive-count", "an integer from 1 to 1000"),
    ("gcp", "lock-max-hold", "a number from 0.01 to 3600 seconds"),
    ("gcp", "function-memory", "an integer from 128 to 32768"),
    ("gcp", "function-timeout", "an integer from 1 to 540"),
]
HOSTILE = [float("nan"), float("inf"), float("-inf"), 1e308, -1, 10**30, "5", True]
SECTIONS = {"local": {"path": "data"}, "aws": {}, "gcp": {"project": "p"}}


@pytest.mark.parametrize(("provider", "key", "expected"), SECTION_NUMBERS)
def test_every_number_of_a_provider_section_is_checked_for_range(provider: str, key: str, expected: str) -> None:
    for value in HOSTILE:
        config = _config(provider, {**SECTIONS[provider], key: value})
        with pytest.raises(ConfigurationException, match=rf"^Config key '{provider}.{key}' must be {expected}, got "):
            get_provider(provider).validate_config(config)


def test_the_section_numbers_listed_are_every_number_a_section_reads() -> None:
    named = {(provider, key) for provider, key, _ in SECTION_NUMBERS}
    textual = {"path", "data-bucket", "endpoint-url", "client-host", "project", "functions-endpoint", "region"}
    textual |= {"service-account", "runtime", "durability"}
    for provider in SECTIONS:
        keys = get_provider(provider).config_keys() or frozenset()
        assert {(provider, key) for key in keys - textual} == {(p, k) for p, k in named if p == provider}


def test_the_local_provider_refuses_more_data_than_sqlite_holds_in_a_value() -> None:
    config = Config.deserialize(
        {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}, "max-data-size": 2**30}
    )
    with pytest.raises(ConfigurationException, match=r"'max-data-size' must be at most 536870912 bytes on the local"):
        get_provider("local").validate_config(config)


@pytest.mark.parametrize("mode", ["sync", "FSYNC", "", 2, None, ["fsync"]])
def test_an_unknown_local_durability_names_the_key_and_the_modes(mode: object) -> None:
    config = _config("local", {**SECTIONS["local"], "durability": mode})
    expected = f"Config key 'local.durability' must be one of 'normal', 'fsync', got {mode!r}"
    with pytest.raises(ConfigurationException, match=f"^{re.escape(expected)}$"):
        get_provider("local").validate_config(config)
