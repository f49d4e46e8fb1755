"""The registry: lookups, who registered what, duplicates, unknown names."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest
from plugin_fixtures import PluginSandbox, expected_install_advice, io_plugin, sandbox

import fullduplex
from fullduplex.errors import (
    ConfigurationError,
    DuplicateRegistrationError,
    NotRegisteredError,
)
from fullduplex.plugins import PluginLoadWarning, plugins
from fullduplex.registry import get_io, get_model, get_tool, list_plugins, registry

__all__ = ["sandbox"]

PROVIDER = """
from fullduplex.hookspecs import hookimpl

class FakeRealtimeModel:
    def __init__(self, model_id="default-model", **options):
        self.model_id = model_id
        self.options = options

@hookimpl
def register_models(register):
    register("fakeprov", FakeRealtimeModel, models=("fake-1", "fake-2"))
"""


def _quiet_load() -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry()  # loads the plugins, then runs their register_* hooks
    return [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]


def test_get_model_passes_the_model_id_and_options_to_the_factory(sandbox: PluginSandbox) -> None:
    sandbox.add("fakeprov", PROVIDER)
    sandbox.only("fakeprov")

    model = get_model("fakeprov/fake-2", voice="marin", timeout_s=30)

    assert type(model).__name__ == "FakeRealtimeModel"
    assert model.model_id == "fake-2"
    assert model.options == {"voice": "marin", "timeout_s": 30}  # type: ignore[attr-defined]
    # a model id the provider did not list is passed through
    assert get_model("fakeprov/fake-new").model_id == "fake-new"


def test_get_model_by_provider_alone_or_by_a_known_model_id(sandbox: PluginSandbox) -> None:
    sandbox.add("fakeprov", PROVIDER)
    sandbox.only("fakeprov")

    assert get_model("fakeprov").model_id == "default-model"
    assert get_model("fake-1").model_id == "fake-1"
    assert fullduplex.get_model is get_model


def test_model_id_given_twice_is_a_configuration_error(sandbox: PluginSandbox) -> None:
    sandbox.add("fakeprov", PROVIDER)
    sandbox.only("fakeprov")

    with pytest.raises(ConfigurationError, match="model_id"):
        get_model("fakeprov/fake-1", model_id="fake-2")
    with pytest.raises(ConfigurationError, match="provider/model-id"):
        get_model("fakeprov/")


def test_unknown_model_lists_what_is_available_and_what_to_install(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add("fakeprov", PROVIDER)
    sandbox.only("fakeprov")

    with pytest.raises(NotRegisteredError) as info:
        get_model("openai/gpt-realtime")

    message = str(info.value)
    assert "'openai'" in message
    assert "fakeprov/fake-1" in message
    assert "fakeprov/fake-2" in message
    assert "fullduplex-openai" in message
    # installed (the dev environment): filtered out here; otherwise: install it
    assert expected_install_advice("fullduplex-openai", "FULLDUPLEX_LOAD_PLUGINS") in message
    assert isinstance(info.value, LookupError)


def test_unknown_name_is_explained_by_a_broken_plugin_from_its_entry_point_metadata(
    sandbox: PluginSandbox,
) -> None:
    # the distribution comes from the entry point's metadata, not from a list in core
    dist = sandbox.add("hologram", "raise RuntimeError('no projector')\n")
    sandbox.only("hologram")

    with (
        pytest.warns(PluginLoadWarning, match="hologram"),
        pytest.raises(NotRegisteredError) as info,
    ):
        get_io("hologram")

    message = str(info.value)
    assert "available: none" in message
    assert f"probably provided by {dist}" in message
    assert "import failed: RuntimeError: no projector" in message


def test_unknown_name_without_any_skipped_plugin_gets_no_install_advice(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add("chan", io_plugin("chan"))
    sandbox.disable()  # everything installed loads: nothing to blame, nothing to guess

    with pytest.raises(NotRegisteredError) as info:
        get_io("hologram")

    assert "pip install" not in str(info.value)
    assert "did not load" not in str(info.value)


def test_core_code_names_no_bundled_plugin() -> None:
    # docstrings may show examples; no string the code uses may name a bundled plugin
    package = Path(fullduplex.__file__).parent
    bundled = ("fullduplex-openai", "fullduplex-audio", "fullduplex-text", "fullduplex-tools")
    bundled_names = ("BidiOpenAIRealtimeModel", "BidiAudioIO", "BidiTextIO", "calculator")
    found = []
    for source in sorted(package.glob("*.py")):
        tree = ast.parse(source.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and any(name in node.value for name in (*bundled, *bundled_names))
            ):
                found.append(f"{source.name}:{node.lineno}: {node.value!r}")

    assert found == []


def test_unknown_tool_lists_the_registered_tools(sandbox: PluginSandbox) -> None:
    sandbox.only()

    with pytest.raises(NotRegisteredError, match="stop_conversation"):
        get_tool("no_such_tool")


def test_two_plugins_registering_one_name_is_an_error_naming_both(
    sandbox: PluginSandbox,
) -> None:
    dist_one = sandbox.add("one", io_plugin("shared"))
    dist_two = sandbox.add(
        "two",
        """
        from fullduplex.hookspecs import hookimpl

        class Other:
            pass

        @hookimpl
        def register_io(register):
            register("shared", Other)
            register("only_two", Other)
        """,
    )
    sandbox.only("one", "two")

    messages = _quiet_load()

    assert len(messages) == 1
    assert "'one'" in messages[0]
    assert "'two'" in messages[0]
    with pytest.raises(DuplicateRegistrationError) as info:
        get_io("shared")
    message = str(info.value)
    assert "'one'" in message
    assert "'two'" in message
    assert dist_one in message
    assert dist_two in message
    assert "FULLDUPLEX_DISABLE_PLUGINS" in message
    # the rest of both plugins still works
    assert type(get_io("only_two")).__name__ == "Other"


def test_disabling_one_of_two_claimants_resolves_the_conflict(sandbox: PluginSandbox) -> None:
    sandbox.add("one", io_plugin("shared"))
    sandbox.add("two", io_plugin("shared", class_name="Other"))
    sandbox.monkeypatch.setenv("FULLDUPLEX_LOAD_PLUGINS", "one,two")
    sandbox.disable("one")

    assert type(get_io("shared")).__name__ == "Other"


def test_a_plugin_registering_one_name_twice_is_skipped(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "twice",
        """
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_io(register):
            register("x", object)
            register("x", object)
        """,
    )
    sandbox.only("twice")

    messages = _quiet_load()

    assert len(messages) == 1
    assert "registered IO channel 'x' twice" in messages[0]
    assert "twice" not in {info.name for info in plugins().infos}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ('register("bad/name", Model)', "provider"),
        ('register("", Model)', "provider"),
        ('register("ok", "not callable")', "factory"),
        ('register("ok", Model, models=("a", 3))', "models"),
    ],
)
def test_bad_model_registration_skips_the_plugin_naming_the_field(
    sandbox: PluginSandbox, call: str, field: str
) -> None:
    sandbox.add(
        "badreg",
        f"""
        from fullduplex.hookspecs import hookimpl

        class Model:
            pass

        @hookimpl
        def register_models(register):
            {call}
        """,
    )
    sandbox.only("badreg")

    messages = _quiet_load()

    assert len(messages) == 1
    assert f"{field}:" in messages[0]
    assert registry().names("models") == []


def test_get_io_builds_the_channel_with_options(sandbox: PluginSandbox) -> None:
    sandbox.add("chan", io_plugin("chan"))
    sandbox.only("chan")

    channel = get_io("chan", device="default", rate=16000)

    assert channel.kwargs == {"device": "default", "rate": 16000}


def test_core_plugin_registers_stop_conversation(sandbox: PluginSandbox) -> None:
    from fullduplex.tools import stop_conversation

    sandbox.only()

    assert get_tool("stop_conversation") is stop_conversation
    (core,) = [r for r in list_plugins() if r.name == "core"]
    assert core.distribution == "fullduplex"
    assert core.version == fullduplex.__version__
    assert "register_tools" in core.hooks
    assert core.registered["tools"] == ("stop_conversation",)


def test_plain_function_registered_as_tool_is_wrapped_with_tool(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "plaintool",
        '''
        from fullduplex.hookspecs import hookimpl

        def shout(text: str) -> str:
            """Say it louder.

            Args:
                text: what to say
            """
            return text.upper()

        @hookimpl
        def register_tools(register):
            register(shout)
        ''',
    )
    sandbox.only("plaintool")

    shout = get_tool("shout")

    assert shout.name == "shout"
    assert shout.spec.parameters["properties"]["text"]["type"] == "string"


def test_list_plugins_says_who_registered_what_including_commands(
    sandbox: PluginSandbox,
) -> None:
    dist = sandbox.add(
        "everything",
        """
        import click
        from fullduplex.hookspecs import hookimpl
        from fullduplex.tools import tool

        class Model:
            def __init__(self, model_id="m"):
                self.model_id = model_id

        class Chan:
            pass

        @tool
        def ping() -> str:
            return "pong"

        @hookimpl
        def register_models(register):
            register("everyprov", Model, models=("m1",))

        @hookimpl
        def register_io(register):
            register("everyio", Chan)

        @hookimpl
        def register_tools(register):
            register(ping)

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def everycmd():
                pass
        """,
        version="0.9.0",
    )
    sandbox.only("everything")

    records = {r.name: r for r in list_plugins()}

    rec = records["everything"]
    assert (rec.version, rec.distribution) == ("0.9.0", dist)
    assert rec.registered == {
        "models": ("everyprov",),
        "io": ("everyio",),
        "tools": ("ping",),
        "commands": ("everycmd",),
    }
    assert rec.hooks == ("register_commands", "register_io", "register_models", "register_tools")
    assert rec.to_dict()["registered"] == {
        "models": ["everyprov"],
        "io": ["everyio"],
        "tools": ["ping"],
        "commands": ["everycmd"],
    }
