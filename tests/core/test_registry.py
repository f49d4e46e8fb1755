"""The registry: lookups, who registered what, duplicates, unknown names."""

from __future__ import annotations

import ast
import sys
import warnings
from pathlib import Path

import pytest
from plugin_fixtures import PluginSandbox, expected_install_advice, io_plugin, sandbox

import fullduplex
import fullduplex.io
from fullduplex.errors import (
    ConfigurationError,
    DuplicateRegistrationError,
    NotRegisteredError,
    PluginError,
)
from fullduplex.plugins import PluginLoadWarning, plugins
from fullduplex.registry import (
    MissingPluginImportError,
    get_io,
    get_model,
    get_tool,
    list_plugins,
    registry,
)

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
        "session_stores": (),
    }
    assert rec.hooks == ("register_commands", "register_io", "register_models", "register_tools")
    assert rec.to_dict()["registered"] == {
        "models": ["everyprov"],
        "io": ["everyio"],
        "tools": ["ping"],
        "commands": ["everycmd"],
        "session_stores": [],
    }


# ------------------------------------------------ registration by reference (issue 11)

LAZY_TARGETS = '''
import sys

class LazyModel:
    def __init__(self, model_id="lazy-default", **options):
        self.model_id = model_id
        self.options = options

class LazyChannel:
    def __init__(self, **kwargs):
        self.kwargs = kwargs

def shout(text: str) -> str:
    """Say it louder."""
    return text.upper()
'''


def _lazy_plugin(sandbox: PluginSandbox, targets: str, body: str) -> None:
    sandbox.add(
        "lazyreg",
        f"""
        from fullduplex.hookspecs import hookimpl
        from fullduplex.registry import LazyRef

        TARGETS = {targets!r}
        {body}
        """,
    )
    sandbox.only("lazyreg")


LAZY_HOOKS = """
        @hookimpl
        def register_models(register):
            register("lazyprov", TARGETS + ":LazyModel", models=("lazy-1",))

        @hookimpl
        def register_io(register):
            register("lazyio", TARGETS + ":LazyChannel")

        @hookimpl
        def register_tools(register):
            register(TARGETS + ":shout")
"""


def test_registering_by_reference_imports_nothing_until_first_use(
    sandbox: PluginSandbox,
) -> None:
    targets = sandbox.add_module("targets", LAZY_TARGETS)
    _lazy_plugin(sandbox, targets, LAZY_HOOKS)

    entries = {kind: registry().entries(kind) for kind in ("models", "io", "tools")}
    listed = list_plugins()

    # names, owners and export names are known, the module is not imported
    assert targets not in sys.modules
    assert [reg.export_name for reg in entries["models"]] == ["LazyModel"]
    assert [reg.export_name for reg in entries["io"]] == ["LazyChannel"]
    assert {reg.name for reg in entries["tools"]} == {"shout", "stop_conversation"}
    assert not any(reg.loaded for reg in entries["models"] + entries["io"])
    assert {p.name: p.registered["models"] for p in listed}["lazyreg"] == ("lazyprov",)

    model = get_model("lazyprov/lazy-1", voice="x")
    assert targets in sys.modules
    assert type(model).__name__ == "LazyModel"
    assert (model.model_id, model.options) == ("lazy-1", {"voice": "x"})
    assert get_io("lazyio", gain=2).kwargs == {"gain": 2}
    shout = get_tool("shout")
    assert shout.name == "shout"  # a plain function, made a tool when loaded
    assert shout.spec.parameters["required"] == ["text"]
    assert get_tool("shout") is shout  # loaded once, then kept


def test_seed_style_import_resolves_a_reference(sandbox: PluginSandbox) -> None:
    targets = sandbox.add_module("targets", LAZY_TARGETS)
    _lazy_plugin(sandbox, targets, LAZY_HOOKS)

    from fullduplex.io import LazyChannel
    from fullduplex.models import LazyModel
    from fullduplex.tools import shout

    module = sys.modules[targets]
    assert LazyModel is module.LazyModel
    assert LazyChannel is module.LazyChannel
    assert shout is get_tool("shout")


def test_lazy_ref_with_a_loader_and_an_export_name(sandbox: PluginSandbox) -> None:
    targets = sandbox.add_module("targets", LAZY_TARGETS)
    _lazy_plugin(
        sandbox,
        targets,
        """
        import importlib

        def _load():
            return importlib.import_module(TARGETS).LazyChannel

        @hookimpl
        def register_io(register):
            register("viaref", LazyRef("BidiViaRefIO", _load))
        """,
    )

    (reg,) = registry().entries("io")

    assert reg.export_name == "BidiViaRefIO"
    assert targets not in sys.modules
    from fullduplex.io import BidiViaRefIO

    assert BidiViaRefIO is sys.modules[targets].LazyChannel


def test_a_reference_that_fails_to_load_names_the_plugin_and_the_target(
    sandbox: PluginSandbox,
) -> None:
    _lazy_plugin(
        sandbox,
        "fdtest_nowhere_to_be_found",
        """
        @hookimpl
        def register_models(register):
            register("ghost", TARGETS + ":GhostModel")

        @hookimpl
        def register_io(register):
            register("ghostio", TARGETS + ":BidiGhostIO")
        """,
    )

    assert _quiet_load() == []  # registering by reference cannot fail on the import
    with pytest.raises(PluginError) as info:
        get_model("ghost")
    message = str(info.value)
    assert "model provider 'ghost'" in message
    assert "plugin 'lazyreg' (fullduplex-lazyreg-test)" in message
    assert "fdtest_nowhere_to_be_found:GhostModel" in message
    assert "ModuleNotFoundError" in message

    with pytest.raises(ImportError) as imported:
        from fullduplex.io import BidiGhostIO  # noqa: F401
    assert isinstance(imported.value, MissingPluginImportError)
    assert "fdtest_nowhere_to_be_found:BidiGhostIO" in str(imported.value)
    assert hasattr(fullduplex.io, "BidiGhostIO") is False


def test_a_reference_to_something_of_the_wrong_sort_fails_on_use(
    sandbox: PluginSandbox,
) -> None:
    targets = sandbox.add_module("targets", LAZY_TARGETS + "\nNOT_A_FACTORY = 42\n")
    _lazy_plugin(
        sandbox,
        targets,
        """
        @hookimpl
        def register_io(register):
            register("number", TARGETS + ":NOT_A_FACTORY")

        @hookimpl
        def register_tools(register):
            register(TARGETS + ":shout", name="whisper")
        """,
    )

    with pytest.raises(PluginError, match=r"IO channel 'number'.*factory is not callable"):
        get_io("number")
    with pytest.raises(PluginError, match=r"tool 'whisper'.*loaded a tool named 'shout'"):
        get_tool("whisper")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        ('register("ok", "no_colon_here")', "factory"),
        ('register("ok", "pkg.mod:")', "factory"),
        ('register("ok", "pkg mod:Name")', "factory"),
    ],
)
def test_a_malformed_reference_skips_the_plugin_naming_the_field(
    sandbox: PluginSandbox, call: str, field: str
) -> None:
    sandbox.add(
        "badref",
        f"""
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_io(register):
            {call}
        """,
    )
    sandbox.only("badref")

    messages = _quiet_load()

    assert len(messages) == 1
    assert f"{field}: expected a callable or a 'package.module:Name' reference" in messages[0]
    assert registry().names("io") == []


def test_bundled_plugins_register_by_reference() -> None:
    # what makes `fullduplex plugins` fast: listing loads no provider, channel or tool module
    from fullduplex.plugins import reset_plugins

    reset_plugins()
    try:
        for kind in ("models", "io", "tools"):
            for reg in registry().entries(kind):
                assert reg.export_name, reg
        names = {reg.name: reg for kind in ("models", "io") for reg in registry().entries(kind)}
        assert all(not reg.loaded for reg in names.values())
    finally:
        reset_plugins()
