"""The README and CONTRIBUTING.md, which the strict docs build does not read: the README stays a
few screens long, starts with the setup commands, and their links lead to files that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(text: str) -> list[str]:
    return [target for target in LINK.findall(text) if not re.match(r"[a-z]+:", target)]


def test_readme_fits_on_a_few_screens():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"README.md has {len(lines)} lines; move the detail into docs/"


def test_readme_first_code_block_is_the_setup_commands():
    block = README.read_text().split("```")[1]
    commands = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["./tools/demo", "./tools/test"]


@pytest.mark.parametrize("document", ["README.md", "CONTRIBUTING.md"])
def test_relative_links_lead_to_existing_files(document: str):
    path = ROOT / document
    links = relative_links(path.read_text())
    assert links, f"{document} links nowhere"
    missing = [target for target in links if not (path.parent / target.split("#")[0]).exists()]
    assert not missing, f"{document} links to missing files: {missing}"


def test_a_link_to_a_missing_file_is_found():
    text = "see [the docs](docs/index.md), [gone](docs/gone.md#part) and [a site](https://example.org)"
    links = relative_links(text)
    assert links == ["docs/index.md", "docs/gone.md#part"]
    assert not (ROOT / "docs/gone.md").exists()
