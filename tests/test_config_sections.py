"""Each provider names the keys of its config section, so that a misspelt one is reported with
the key it most resembles, as fk reports a misspelt top-level key."""

from __future__ import annotations

import pytest

from faaskeeper.config import Config
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
