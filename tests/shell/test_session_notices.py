"""The shell's notices of the session going SUSPENDED and LOST, and its colours, at a prompt_toolkit prompt."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from faaskeeper_deploy.cli import main
from faaskeeper_deploy.shell.session import Console
from tests.local.test_sessions import silence_pings

HEARTBEAT = 0.2
SESSION_TIMEOUT = 1.5

# SGR sequences as prompt_toolkit and the console write them: a colour is 3x, possibly after
# attribute resets (``\x1b[0;33m``).
YELLOW, RED, GREEN, CYAN = (rf"\x1b\[(?:[0-9;]*;)?{code}m" for code in (33, 31, 32, 36))


@pytest.fixture
def config_file(tmp_path: Path) -> str:
    """A local deployment whose sessions miss heartbeats within a second and expire soon after."""
    path = tmp_path / "fk.json"
    path.write_text(
        json.dumps(
            {
                "cloud-provider": "local",
                "deployment-name": "dev",
                "heartbeat-frequency": HEARTBEAT,
                "session-timeout": SESSION_TIMEOUT,
                "local": {"path": str(tmp_path / "data"), "lock-max-hold": 1, "visibility-timeout": 1},
            }
        )
    )
    assert main(["deploy", "service", "--config", str(path)]) == 0
    return str(path)


def raw(repl) -> str:
    return repl.buffer.getvalue()


def test_suspended_then_lost_are_announced_and_shown_in_the_prompt(repl_factory):
    repl = repl_factory(console=Console(color=True))
    first = repl.session.session_id
    repl.run("create -e /mine", "Created /mine")
    assert repl.session.client is not None
    silence_pings(repl.session.client)  # as if the shell's process had frozen

    # Drawn above the prompt (not anchored at the line's start: the screen holds cursor moves).
    repl.expect("SESSION: SUSPENDED (heartbeats stopped arriving)")
    repl.expect(f"[fk: local:dev(SUSPENDED) session:{first[:8]}]")
    repl.expect("SESSION: LOST (expired or closed; connect starts a new session)", timeout=SESSION_TIMEOUT + 10)
    repl.expect(f"[fk: local:dev(LOST) session:{first[:8]}]")

    repl.run("get /mine", "error: get: the session is lost (connect starts a new one)")
    repl.send("connect\r")
    second = repl.expect_re(r"^Connected to local:dev: session ([0-9a-f]+)$").group(1)
    repl.expect(f"[fk: local:dev(CONNECTED) session:{second[:8]}]")
    repl.run("exists /mine", "/mine does not exist")  # the lost session's ephemeral node is gone

    screen = raw(repl)
    # Notices in cyan; the state in the prompt: yellow while suspended, red once lost, green when connected.
    assert re.search(CYAN + r"SESSION: SUSPENDED \(heartbeats stopped arriving\)", screen)
    assert re.search(CYAN + r"SESSION: LOST", screen)
    assert re.search(YELLOW + r"SUSPENDED", screen)
    assert re.search(r"dev\(" + r"(?:\x1b\[[0-9;]*m)*" + RED + r"LOST", screen)
    assert re.search(RED + r"error: get: the session is lost", screen)
    assert re.search(r"dev\(" + r"(?:\x1b\[[0-9;]*m)*" + GREEN + r"CONNECTED", screen)


def test_without_colour_nothing_but_the_prompt_is_coloured(repl_factory):
    repl = repl_factory(console=Console(color=False))
    repl.run("get /nope", "error: get: Node /nope does not exist")
    assert repl.session.client is not None
    silence_pings(repl.session.client)
    repl.expect("SESSION: SUSPENDED (heartbeats stopped arriving)")
    assert not re.search(r"\x1b\[(?:[0-9;]*;)?3[0-7]m(?:error|SESSION)", raw(repl))
