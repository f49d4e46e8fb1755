"""What ``fullduplex`` lists with the bundled distributions installed (the real entry points)."""

from __future__ import annotations

import json

import pytest
from cli_kit import run


def test_help_lists_chat_and_the_plugins_own_commands() -> None:
    result = run(["--help"])

    assert result.returncode == 0, result.stderr
    commands = {
        line.split()[0]
        for line in result.stdout.split("Commands:", 1)[1].splitlines()
        if line.strip()
    }
    assert {"chat", "plugins", "models", "tools", "io", "emulator", "devices"} <= commands


def test_chat_help_documents_its_options() -> None:
    result = run(["chat", "--help"])

    assert result.returncode == 0, result.stderr
    for option in (
        "--model",
        "--voice",
        "--system",
        "--tool",
        "--audio",
        "--input-wav",
        "--output-wav",
        "--emulator",
        "--base-url",
        "--debug",
    ):
        assert option in result.stdout
    assert 'echo "what is 12 times 7?" | fullduplex chat --tool calculator' in result.stdout


def test_plugins_json_shows_every_bundled_plugin_and_what_it_registered() -> None:
    result = run(["plugins", "--json"])

    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["skipped"] == []
    by_name = {plugin["name"]: plugin for plugin in data["plugins"]}
    expected = {
        "core": ("fullduplex", {"tools": ["stop_conversation"]}),
        "openai": ("fullduplex-openai", {"models": ["openai"]}),
        "text": ("fullduplex-text", {"io": ["text"]}),
        "audio": ("fullduplex-audio", {"io": ["audio", "wav"], "commands": ["devices"]}),
        "tools": ("fullduplex-tools", {"tools": ["calculator", "current_time"]}),
    }
    for name, (distribution, registered) in expected.items():
        plugin = by_name[name]
        assert plugin["distribution"] == distribution
        assert plugin["version"]
        for kind, names in registered.items():
            assert sorted(plugin["registered"][kind]) == names, (name, kind)


@pytest.mark.parametrize(
    ("command", "names"),
    [
        ("models", ["gemini", "openai"]),
        ("io", ["audio", "text", "wav"]),
        ("tools", ["calculator", "current_time", "stop_conversation"]),
    ],
)
def test_listing_commands_show_the_bundled_registrations(command: str, names: list[str]) -> None:
    table = run([command])
    as_json = run([command, "--json"])

    assert table.returncode == 0, table.stderr
    assert as_json.returncode == 0, as_json.stderr
    listed = [entry["name"] for entry in json.loads(as_json.stdout)]
    assert sorted(listed) == names
    for name in names:
        assert any(line.startswith(f"{name}  ") for line in table.stdout.splitlines())


def test_models_lists_the_openai_model_ids() -> None:
    result = run(["models", "openai", "--json"])

    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)
    assert entry["object"] == "BidiOpenAIRealtimeModel"
    assert "gpt-realtime" in entry["models"]


def test_unknown_factory_keywords_name_the_field_and_what_is_accepted() -> None:
    """get_model / get_io check keywords against the factory before building anything."""
    import pytest

    import fullduplex
    from fullduplex.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"'bogus'.*accepted: model_id, provider_config"):
        fullduplex.get_model("openai/gpt-realtime", bogus=1)
    with pytest.raises(ConfigurationError, match=r"^wav: .*'nope'.*accepted: input_path"):
        fullduplex.get_io("wav", nope=2)
