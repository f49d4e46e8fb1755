"""The ``fullduplex`` command, run as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_fixtures import PluginSandbox, sandbox

__all__ = ["sandbox"]

COMMAND_PLUGIN = """
import click
from fullduplex.hookspecs import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command(name="hello")
    @click.argument("who")
    def hello(who):
        '''Greet WHO from a plugin.'''
        click.echo(f"hello {who}")

    @cli.command(name="explode")
    def explode():
        '''Fail on purpose.'''
        raise RuntimeError("the flux capacitor\\nis out of order")
"""

BROKEN_COMMANDS = """
from fullduplex.hookspecs import hookimpl

@hookimpl
def register_commands(cli):
    raise RuntimeError("no commands today")
"""


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("fullduplex")
    return [str(script)] if script.exists() else [sys.executable, "-m", "fullduplex.cli"]


def _run(
    args: list[str], env: dict[str, str], *, module: bool = False
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "fullduplex.cli"] if module else _console_script()
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def _env(sandbox: PluginSandbox, *load: str) -> dict[str, str]:
    env = sandbox.subprocess_env()
    env["FULLDUPLEX_LOAD_PLUGINS"] = ",".join(load)
    env.pop("FULLDUPLEX_DISABLE_PLUGINS", None)
    return env


@pytest.mark.parametrize("module", [False, True], ids=["console-script", "python-m"])
def test_plugins_json_lists_the_core_plugin(sandbox: PluginSandbox, module: bool) -> None:
    result = _run(["plugins", "--json"], _env(sandbox), module=module)

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (core,) = [p for p in data["plugins"] if p["name"] == "core"]
    assert core["distribution"] == "fullduplex"
    assert core["hooks"] == ["register_tools"]
    assert core["registered"]["tools"] == ["stop_conversation"]


def test_plugins_table_shows_plugins_and_what_they_registered(sandbox: PluginSandbox) -> None:
    sandbox.add("greeter", COMMAND_PLUGIN, version="2.0.1")

    result = _run(["plugins"], _env(sandbox, "greeter"))

    assert result.returncode == 0, result.stderr
    assert "greeter  [fullduplex-greeter-test 2.0.1]" in result.stdout
    assert "commands: explode, hello" in result.stdout
    assert "tools: stop_conversation" in result.stdout


def test_plugin_command_shows_in_help_and_runs(sandbox: PluginSandbox) -> None:
    sandbox.add("greeter", COMMAND_PLUGIN)
    env = _env(sandbox, "greeter")

    help_result = _run(["--help"], env)
    run_result = _run(["hello", "world"], env)

    assert help_result.returncode == 0
    assert "hello" in help_result.stdout
    assert "Greet WHO from a plugin." in help_result.stdout
    assert run_result.returncode == 0
    assert run_result.stdout == "hello world\n"


def test_failure_is_exit_1_with_one_line_and_debug_shows_the_traceback(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add("greeter", COMMAND_PLUGIN)
    env = _env(sandbox, "greeter")

    plain = _run(["explode"], env)
    debug = _run(["--debug", "explode"], env)

    assert plain.returncode == 1
    lines = plain.stderr.strip().splitlines()
    assert len(lines) == 1, plain.stderr
    assert "RuntimeError: the flux capacitor is out of order" in lines[0]
    assert "Traceback" not in plain.stderr
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr


def test_unknown_name_is_exit_1_listing_what_is_available(sandbox: PluginSandbox) -> None:
    result = _run(["tools", "no_such_tool"], _env(sandbox))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "no tool named 'no_such_tool'" in lines[0]
    assert "stop_conversation" in lines[0]


@pytest.mark.parametrize("args", [["no-such-command"], ["plugins", "--bogus"], ["hello"]])
def test_bad_usage_is_exit_2(sandbox: PluginSandbox, args: list[str]) -> None:
    sandbox.add("greeter", COMMAND_PLUGIN)

    result = _run(args, _env(sandbox, "greeter"))

    assert result.returncode == 2
    assert "Usage:" in result.stderr


def test_plugin_whose_register_commands_raises_is_reported_and_skipped(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add("greeter", COMMAND_PLUGIN)
    dist = sandbox.add("nocmds", BROKEN_COMMANDS)

    result = _run(["hello", "you"], _env(sandbox, "greeter", "nocmds"))

    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello you\n"
    warning_lines = [line for line in result.stderr.splitlines() if "nocmds" in line]
    assert len(warning_lines) == 1, result.stderr
    assert dist in warning_lines[0]
    assert "no commands today" in warning_lines[0]


def test_plugin_cannot_replace_a_builtin_command(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "hijack",
        """
        import click
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command(name="plugins")
            def plugins():
                click.echo("hijacked")
        """,
    )

    result = _run(["plugins", "--json"], _env(sandbox, "hijack"))

    assert result.returncode == 0, result.stderr
    assert "hijacked" not in result.stdout
    assert json.loads(result.stdout)["plugins"]
    assert "command 'plugins' is already provided" in result.stderr


def test_models_and_io_list_registrations(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "provider",
        """
        from fullduplex.hookspecs import hookimpl

        class DemoModel:
            pass

        class DemoIO:
            pass

        @hookimpl
        def register_models(register):
            register("demo", DemoModel, models=("demo-1", "demo-2"))

        @hookimpl
        def register_io(register):
            register("demo_io", DemoIO)
        """,
    )
    env = _env(sandbox, "provider")

    models = _run(["models", "--json"], env)
    io = _run(["io"], env)

    assert models.returncode == 0, models.stderr
    assert json.loads(models.stdout) == [
        {
            "name": "demo",
            "object": "DemoModel",
            "plugin": "provider",
            "distribution": "fullduplex-provider-test",
            "models": ["demo-1", "demo-2"],
        }
    ]
    assert io.returncode == 0, io.stderr
    assert io.stdout.strip() == "demo_io  (DemoIO, plugin provider)"


def test_version_option(sandbox: PluginSandbox) -> None:
    result = _run(["--version"], _env(sandbox))

    assert result.returncode == 0
    assert "0.1.0" in result.stdout


def test_broken_plugin_warning_is_one_plain_line(sandbox: PluginSandbox) -> None:
    dist = sandbox.add("crashy", "raise ImportError('missing native library')\n")

    result = _run(["tools"], _env(sandbox, "crashy"))

    assert result.returncode == 0
    crashy = [line for line in result.stderr.splitlines() if "crashy" in line]
    assert crashy == [
        f"fullduplex: warning: fullduplex plugin 'crashy' from distribution {dist!r} was "
        "skipped: import failed: ImportError: missing native library"
    ]
    assert "stop_conversation" in result.stdout


def test_plugin_cannot_claim_a_builtin_command_that_is_not_imported_yet(
    sandbox: PluginSandbox,
) -> None:
    # `chat` lives in its own module and is imported only when used; its name is
    # reserved all the same
    sandbox.add(
        "chathijack",
        """
        import click
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_commands(cli):
            @cli.command(name="chat")
            def chat():
                '''Not the real chat.'''
                click.echo("hijacked")
        """,
    )
    env = _env(sandbox, "chathijack")

    listed = _run(["plugins", "--json"], env)
    helped = _run(["chat", "--help"], env)

    assert "command 'chat' is already provided by 'fullduplex'" in listed.stderr
    assert helped.returncode == 0, helped.stderr
    assert "hijacked" not in helped.stdout
    assert "--model" in helped.stdout  # the real chat command's options


def test_tools_listing_reports_a_tool_reference_that_does_not_load(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add(
        "ghosttools",
        """
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_tools(register):
            register("fdtest_no_such_module:haunt")
        """,
    )

    result = _run(["tools", "--json"], _env(sandbox, "ghosttools"))

    assert result.returncode == 0, result.stderr
    entries = {entry["name"]: entry for entry in json.loads(result.stdout)}
    assert entries["haunt"]["object"] == "haunt"
    assert entries["haunt"]["description"] is None
    assert entries["stop_conversation"]["description"].startswith("Stop the conversation")
    assert "fdtest_no_such_module:haunt" in result.stderr
    assert "plugin 'ghosttools'" in result.stderr


EXTENDER = """
import functools

import click
from fullduplex.hookspecs import hookimpl

@hookimpl
def extend_command(name, command):
    if name != "models":
        return
    command.params.append(click.Option(["--shout"], is_flag=True))
    original = command.callback

    @functools.wraps(original)
    def callback(*args, shout=False, **kwargs):
        if shout:
            click.echo("SHOUTING")
        return original(*args, **kwargs)

    command.callback = callback
"""


def test_a_plugin_extends_a_builtin_command_when_it_runs(sandbox: PluginSandbox) -> None:
    sandbox.add("extender", EXTENDER)
    env = _env(sandbox, "extender")

    extended = _run(["models", "--shout"], env)
    plain = _run(["models"], env)
    other = _run(["tools", "--shout"], env)

    assert extended.returncode == 0, extended.stderr
    assert extended.stdout.startswith("SHOUTING\n")
    assert plain.returncode == 0
    assert "SHOUTING" not in plain.stdout
    assert other.returncode == 2  # only the command the plugin named gets the option
    assert "--shout" in other.stderr


def test_an_extend_command_hook_that_raises_is_reported_and_the_command_still_runs(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add(
        "badext",
        """
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def extend_command(name, command):
            raise RuntimeError("cannot extend today")
        """,
    )

    result = _run(["models", "--json"], _env(sandbox, "badext"))

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []  # ran: no provider is loaded in this sandbox
    warning_lines = [line for line in result.stderr.splitlines() if "badext" in line]
    assert len(warning_lines) == 1, result.stderr
    assert "cannot extend today" in warning_lines[0]
