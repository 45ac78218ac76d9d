"""The fk command's deploy, status and remove on the local provider, and its errors."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

import pytest

from faaskeeper.api.queue import PollingQueue
from faaskeeper.client import FaaSKeeperClient
from faaskeeper.config import Config
from faaskeeper.exceptions import FaaSKeeperException
from faaskeeper.testing.support import wait_until
from faaskeeper_deploy.cli import main


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    # Relative "local.path" values resolve against the working directory.
    monkeypatch.chdir(tmp_path)


def write(path, data) -> str:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_deploy_use_status_remove(tmp_path, capsys):
    config = write(tmp_path / "fk.json", {"deployment-name": "dev", "local": {"path": "data"}})
    assert main(["deploy", "service", "--provider", "local", "--config", config]) == 0
    written = json.loads((tmp_path / "fk.json").read_text())
    assert written["cloud-provider"] == "local"
    data_dir = written["local"]["path"]
    assert data_dir.startswith("/")  # made absolute, so the config works from anywhere
    assert (tmp_path / data_dir / "dev" / "faaskeeper.sqlite3").exists()

    client = FaaSKeeperClient(Config.deserialize(written))
    client.start()
    client.create("/from-cli", b"x")
    client.stop()

    capsys.readouterr()
    assert main(["status", "--config", config, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["deployed"] is True
    assert status["nodes"] == 2
    assert status["sessions"] == 0
    assert main(["status", "--config", config]) == 0
    out = capsys.readouterr().out
    assert "local deployment 'dev': deployed" in out
    assert "live sessions: 0   nodes: 2   watches: 0" in out

    assert main(["deploy", "service", "--config", config, "--clean"]) == 0
    client = FaaSKeeperClient(Config.deserialize(written))
    client.start()
    assert client.exists("/from-cli") is None
    client.stop()

    assert main(["remove", "service", "--config", config]) == 0
    assert not (tmp_path / data_dir / "dev").exists()
    capsys.readouterr()
    assert main(["status", "--config", config]) == 0
    assert "local deployment 'dev': not deployed" in capsys.readouterr().out
    assert main(["status", "--config", config, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["deployed"] is False


def test_output_option_keeps_the_input(tmp_path):
    config = write(tmp_path / "in.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "x"}})
    before = (tmp_path / "in.json").read_text()
    assert main(["deploy", "service", "--config", config, "--output", str(tmp_path / "out.json")]) == 0
    assert (tmp_path / "in.json").read_text() == before
    assert json.loads((tmp_path / "out.json").read_text())["deployment-name"] == "d"
    main(["remove", "service", "--config", str(tmp_path / "out.json")])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"cloud-provider": "nimbus", "deployment-name": "d"}, "Unknown provider 'nimbus'; installed providers: "),
        ({"cloud-provider": "local"}, "missing the required key 'deployment-name', the deployment's name, e.g. "),
        ({"deployment-name": "d"}, "missing the required key 'cloud-provider', the provider's name (installed: "),
        ([1, 2], "must hold a JSON object, got list"),
        ({"cloud-provider": "local", "deployment-name": "d", "local": "p"}, "Config key 'local' must be an object"),
        ({"cloud-provider": "local", "deployment-name": "d"}, "'local' must contain 'path'"),
        (
            {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p", "lock-max-hold": "5"}},
            "'local.lock-max-hold' must be a number from 0.01 to 3600 seconds, got '5'",
        ),
        (
            {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p", "durability": "FULL"}},
            "Config key 'local.durability' must be one of 'normal', 'fsync', got 'FULL'",
        ),
        ({"cloud-provider": "local", "deployment-name": "d", "verbose": "maybe"}, "'verbose' must be true or false"),
        ("{broken", "not valid JSON"),
    ],
)
def test_config_errors_name_the_problem(tmp_path, capsys, content, message):
    config = write(tmp_path / "bad.json", content)
    assert main(["deploy", "service", "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fk: error: ")
    assert message in err
    assert config in err
    assert "Traceback" not in err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["status", "--config"],
        ["remove", "service", "--config"],
        ["cost", "--config"],
        ["bench", "--config"],
        ["shell", "-c", "ls"],
    ],
)
def test_every_command_reports_a_config_error_as_deploy_does(tmp_path, capsys, command):
    bad = {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p", "lock-max-hold": "5"}}
    config = write(tmp_path / "bad.json", bad)
    assert main(["deploy", "service", "--config", config]) == 1
    expected = capsys.readouterr().err
    message = "Config key 'local.lock-max-hold' must be a number from 0.01 to 3600 seconds, got '5'"
    assert expected == f"fk: error: {config}: {message}\n"
    assert main([*command, config]) == 1
    assert capsys.readouterr().err == expected
    assert not (tmp_path / "p").exists()


def test_unknown_keys_are_kept_with_a_warning_naming_the_nearest_known_key(tmp_path, capsys):
    data = {
        "cloud-provider": "local",
        "deployment-name": "d",
        "heartbeat-frequncy": 2,
        "colour": "blue",
        "system-storage": "key-value",  # upstream's, of no use here: accepted silently
        "aws": {"region": "us-east-1"},  # another provider's section
        "local": {"path": "p", "lock-max-hld": 2},
    }
    config = write(tmp_path / "c.json", data)
    assert main(["deploy", "service", "--config", config]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("local: ")]
    assert warnings == [
        f"fk: warning: {config}: unknown config key 'heartbeat-frequncy' is ignored "
        "(did you mean 'heartbeat-frequency'?)",
        f"fk: warning: {config}: unknown config key 'colour' is ignored",
        f"fk: warning: {config}: unknown config key 'local.lock-max-hld' is ignored "
        "(did you mean 'local.lock-max-hold'?)",
    ]
    written = json.loads((tmp_path / "c.json").read_text())
    assert (written["heartbeat-frequncy"], written["colour"], written["local"]["lock-max-hld"]) == (2, "blue", 2)
    assert main(["shell", config, "-c", "ls"]) == 0
    assert len(capsys.readouterr().err.splitlines()) == 3


@pytest.mark.parametrize("name", ["/abs/x", "../x", "a/b"])
def test_a_deployment_name_that_is_a_path_is_refused_and_nothing_is_written(tmp_path, capsys, name):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": name, "local": {"path": "p"}})
    for command in (["deploy", "service"], ["status"], ["remove", "service"]):
        assert main([*command, "--config", config]) == 1
        err = capsys.readouterr().err
        assert "Config key 'deployment-name' must be 1-40 letters, digits, '-' or '_'" in err, command
        assert f"got {name!r}" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["c.json"]
    assert not (tmp_path.parent / "x").exists()


def test_unknown_provider_lists_installed_and_hints(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"deployment-name": "d"})
    assert main(["deploy", "service", "--provider", "nimbus", "--config", config]) == 1
    err = capsys.readouterr().err
    assert "installed providers: " in err
    assert "local" in err.split("installed providers: ")[1]
    assert "pip install faaskeeper-nimbus" in err


def test_provider_disagreeing_with_config(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}})
    assert main(["deploy", "service", "--provider", "aws", "--config", config]) == 1
    assert "disagrees" in capsys.readouterr().err


def test_missing_config_file(tmp_path, capsys):
    assert main(["status", "--config", str(tmp_path / "nope.json")]) == 1
    assert "Cannot read config file" in capsys.readouterr().err


def test_fk_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "faaskeeper_deploy", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    assert "deploy" in out.stdout
    assert "remove" in out.stdout
    description = " ".join(out.stdout.split("\n\n")[1].split())
    for command in ("fk shell", "fk bench", "fk cost", "fk soak"):
        assert command in description


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_before_or_after_the_subcommand_shows_the_traceback(tmp_path, where):
    command = ["status", "--config", str(tmp_path / "nope.json")]
    argv = ["--debug", *command] if where == "before" else [*command, "--debug"]
    with pytest.raises(FaaSKeeperException, match="Cannot read config file"):
        main(argv)


class ThrottledError(Exception):
    """As a cloud SDK raises it, when a provider lets it through its boundary."""


@pytest.mark.parametrize("command", [["status"], ["remove", "service"], ["deploy", "service"]])
def test_an_sdk_error_that_escaped_a_provider_is_one_line_naming_it_and_debug_shows_it(
    tmp_path, capsys, monkeypatch, command
):
    from faaskeeper_local.provider import LocalProvider

    def fails(*_args, **_kwargs):
        raise ThrottledError("Rate exceeded.\n  Retry after 3 s.")

    for method in ("status", "remove", "deploy"):
        monkeypatch.setattr(LocalProvider, method, fails)
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}})
    assert main([*command, "--config", config]) == 1
    named = f"{ThrottledError.__module__}.ThrottledError"
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("fk: ")]
    assert errors == [f"fk: error: {named}: Rate exceeded. Retry after 3 s. (fk --debug shows the traceback)"]
    with pytest.raises(ThrottledError):
        main([*command, "--config", config, "--debug"])


def test_an_unknown_option_of_a_subcommand_shows_that_subcommands_usage(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["status", "--config", "c.json", "--nope"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: fk status [-h] [--provider PROVIDER] --config FILE")
    assert err.splitlines()[-1] == "fk status: error: unrecognized arguments: --nope"


def test_deploy_functions_on_local(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}})
    assert main(["deploy", "functions", "--config", config]) == 0
    assert "up to date" in capsys.readouterr().out


def test_status_counts_sessions_watches_and_queue_depths(tmp_path, capsys):
    from faaskeeper_local.provider import LocalProvider

    # A short session timeout: the client's close waits in the writer queue until its session's
    # leases have run out (see test below).
    raw = {"cloud-provider": "local", "deployment-name": "d", "heartbeat-frequency": 0.1, "local": {"path": "p"}}
    config = write(tmp_path / "c.json", raw)
    assert main(["deploy", "service", "--config", config]) == 0
    cfg = Config.from_file(config)

    def status() -> dict:
        capsys.readouterr()
        assert main(["status", "--config", config, "--json"]) == 0
        return json.loads(capsys.readouterr().out)

    client = FaaSKeeperClient(cfg)
    client.start()
    try:
        client.create("/w", b"")
        client.get_data("/w", watch=lambda _event: None)
        live = status()
    finally:
        client.stop()
    assert (live["sessions"], live["nodes"], live["watches"]) == (1, 2, 1)

    # With no client running, no function takes messages: they stay where the status finds them.
    deployment = LocalProvider().open(cfg)
    try:
        # The close, held until its session's leases ran out, is delivered again to no one: clear it.
        wait_until(lambda: _cleared(deployment.writer_queue), 10, "the held close to show again")
        for dedup in ("one", "two", "three"):
            deployment.writer_queue.send(b"{}", "nobody", dedup)
        [taken] = deployment.writer_queue.receive(1, visibility_timeout=60)
        deployment.writer_queue.dead_letter(taken, "a test")
        deployment.distributor_queue.send(b"{}", "nobody", "four")
        assert len(deployment.distributor_queue.receive(1, visibility_timeout=60)) == 1
    finally:
        deployment.close()
    queues = {q["name"]: q for q in status()["queues"]}
    assert queues["writer"] == {"name": "writer", "waiting": 2, "in_flight": 0, "dead_letters": 1}
    assert queues["distributor"] == {"name": "distributor", "waiting": 0, "in_flight": 1, "dead_letters": 0}
    assert main(["status", "--config", config]) == 0
    table = capsys.readouterr().out
    assert re.search(r"│ writer +│ +2 │ +0 │ +1 │", table)
    assert re.search(r"│ distributor +│ +0 │ +1 │ +0 │", table)


def _cleared(queue: PollingQueue) -> bool:
    for message in queue.receive(10, visibility_timeout=60):
        queue.ack(message)
    return queue.depth() == 0


def test_help_on_every_command_and_subcommand(capsys):
    from faaskeeper_deploy.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert {"deploy", "remove", "status", "shell"} <= set(commands.choices)
    targets = {"deploy": ["service", "functions"], "remove": ["service"]}
    for command, subparser in commands.choices.items():
        for argv in [[command, "--help"]] + [[command, t, "--help"] for t in targets.get(command, [])]:
            with pytest.raises(SystemExit) as exit_:
                main(argv)
            assert exit_.value.code == 0, argv
            out = capsys.readouterr().out
            assert out.startswith(f"usage: fk {command}"), argv
            assert subparser.description, f"fk {command} has no description"
            assert subparser.description.split()[0] in out, argv


def test_deploy_help_lists_each_providers_options_from_its_plugin(capsys):
    with pytest.raises(SystemExit):
        main(["deploy", "--help"])
    out = capsys.readouterr().out
    for heading, flags in {
        "local": ["--local-path DIR", "--local-lock-max-hold SECONDS", "--local-max-receives N"],
        "aws": ["--aws-region REGION", "--aws-endpoint-url URL", "--aws-function-timeout SECONDS"],
        "gcp": ["--gcp-project PROJECT", "--gcp-functions-endpoint URL", "--gcp-service-account EMAIL"],
        "memory": ["--memory-lock-max-hold SECONDS"],  # tests/plugins/faaskeeper-memory, a third party
    }.items():
        section = out.split(f"options of the {heading} provider:")[1].split("\n\n", 2)[1]
        for flag in flags:
            assert flag in section


def test_local_options_are_passed_through_to_the_written_config(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"deployment-name": "opt"})
    argv = ["deploy", "service", "--provider", "local", "--config", config, "--local-path", "elsewhere"]
    assert main([*argv, "--local-lock-max-hold", "2.5", "--local-max-receives", "3"]) == 0
    written = json.loads((tmp_path / "c.json").read_text())
    assert written["local"] == {"path": str(tmp_path / "elsewhere"), "lock-max-hold": 2.5, "max-receives": 3}
    assert (tmp_path / "elsewhere" / "opt" / "faaskeeper.sqlite3").exists()
    assert "local: creating " in capsys.readouterr().err  # a step, on standard error


def test_a_third_party_plugin_adds_a_deploy_option_without_touching_the_cli(tmp_path, capsys):
    config = write(tmp_path / "m.json", {"deployment-name": "third"})
    argv = ["deploy", "service", "--provider", "memory", "--config", config, "--memory-lock-max-hold", "2.5"]
    assert main(argv) == 0
    assert json.loads((tmp_path / "m.json").read_text())["memory"] == {"lock-max-hold": 2.5}
    assert "memory: creating deployment 'third' in this process" in capsys.readouterr().err
    try:
        assert main(["status", "--config", config, "--json"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["deployed"] is True
        assert status["details"] == {"lock-max-hold": "2.5 s"}  # the deployment got the option's value
        assert main(["deploy", "service", "--config", config, "--memory-lock-max-hold", "0"]) == 1
        err = capsys.readouterr().err
        assert (
            "Config key 'memory.lock-max-hold' must be a positive number, got 0.0 (set by --memory-lock-max-hold)"
            in err
        )
    finally:
        assert main(["remove", "service", "--config", config]) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--aws-region", "us-east-1"],
            "--aws-region is an option of the aws provider, but this deployment is on 'local'",
        ),
        (["--local-max-receives", "x"], "argument --local-max-receives: expected an integer, got 'x'"),
        (["--local-lock-max-hold", "soon"], "argument --local-lock-max-hold: expected a number, got 'soon'"),
        (["--local-path", ""], "argument --local-path: expected a value, got an empty string"),
        (
            ["--local-durability", "always"],
            "'local.durability' must be one of 'normal', 'fsync', got 'always' (set by --local-durability)",
        ),
        (
            ["--local-lock-max-hold", "-1"],
            "'local.lock-max-hold' must be a number from 0.01 to 3600 seconds, got -1.0 (set by --local-lock-max-hold)",
        ),
    ],
)
def test_bad_provider_options_name_the_option(tmp_path, capsys, options, message):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}})
    before = (tmp_path / "c.json").read_text()
    code: object
    try:
        code = main(["deploy", "service", "--config", config, *options])
    except SystemExit as exit_:  # argparse refuses a value it cannot parse
        code = exit_.code
    assert code in (1, 2)
    assert message in capsys.readouterr().err
    assert (tmp_path / "c.json").read_text() == before
    assert not (tmp_path / "p").exists()


def test_a_plugin_whose_option_hook_fails_leaves_the_others(monkeypatch, capsys, caplog):
    from faaskeeper.plugins import hookimpl, manager

    class Broken:
        @hookimpl
        def faaskeeper_deploy_options(self, provider):
            raise RuntimeError("no options today")

    fresh = manager.ProviderRegistry()
    fresh.register_plugin(Broken(), "broken")
    monkeypatch.setattr(manager, "_default", fresh)
    with pytest.raises(SystemExit):
        main(["deploy", "--help"])
    assert "--local-path DIR" in capsys.readouterr().out
    assert "no options today" in caplog.text


def test_clean_and_output_are_for_the_service_only(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": {"path": "p"}})
    for option in ("--clean", "--force"):
        assert main(["deploy", "functions", "--config", config, option]) == 1
        assert "--clean, --force and --output apply to fk deploy service only" in capsys.readouterr().err


def test_steps_on_a_terminal_show_a_tick_and_time_each_and_a_cross_on_failure():
    import io

    from rich.console import Console

    from faaskeeper_deploy.progress import reporting

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    with reporting("aws", console) as reporter:
        reporter.step("creating stack faaskeeper-dev (12 resources)")
        reporter.step("waiting for CloudFormation to create faaskeeper-dev")

    def failing_removal() -> None:
        with reporting("aws", console) as reporter:
            reporter.step("deleting stack faaskeeper-dev")
            raise FaaSKeeperException("AWS delete stack faaskeeper-dev failed")

    with pytest.raises(FaaSKeeperException):
        failing_removal()
    shown = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", screen.getvalue())
    lines = [line.strip() for line in shown.replace("\r", "\n").splitlines() if line.strip()]
    done = [line for line in lines if line[0] in "✓✗"]
    assert [re.sub(r"\(\d+\.\d s\)$", "(T)", line) for line in done] == [
        "✓ aws: creating stack faaskeeper-dev (12 resources) (T)",
        "✓ aws: waiting for CloudFormation to create faaskeeper-dev (T)",
        "✗ aws: deleting stack faaskeeper-dev (T)",
    ]


def test_steps_in_a_log_are_one_line_each_as_they_begin():
    import io

    from rich.console import Console

    from faaskeeper_deploy.progress import reporting

    log = io.StringIO()
    with reporting("aws", Console(file=log, width=40)) as reporter:
        reporter.step("creating stack faaskeeper-a-rather-long-deployment-name (12 resources)")
        assert log.getvalue() == "aws: creating stack faaskeeper-a-rather-long-deployment-name (12 resources)\n"
        reporter.step("waiting for [CloudFormation]")
    assert log.getvalue().splitlines()[1] == "aws: waiting for [CloudFormation]"


def test_an_option_into_a_provider_section_that_is_not_an_object(tmp_path, capsys):
    config = write(tmp_path / "c.json", {"cloud-provider": "local", "deployment-name": "d", "local": "p"})
    assert main(["deploy", "service", "--config", config, "--local-path", "q"]) == 1
    assert "Config key 'local' must be an object with the provider's settings" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()
