"""Seed-style imports resolved through the registry, and the lazy top-level package."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_fixtures import PluginSandbox, expected_install_advice, io_plugin, sandbox

import fullduplex
import fullduplex.io
import fullduplex.models
from fullduplex.events import EVENT_CLASSES
from fullduplex.registry import (
    MissingPluginAttributeError,
    MissingPluginError,
    MissingPluginImportError,
)

__all__ = ["sandbox"]


@pytest.mark.filterwarnings("ignore::fullduplex.plugins.PluginLoadWarning")
def test_missing_io_class_import_names_the_distribution(sandbox: PluginSandbox) -> None:
    sandbox.disable("audio")

    with pytest.raises(ImportError) as info:
        from fullduplex.io import BidiAudioIO  # noqa: F401

    assert isinstance(info.value, MissingPluginImportError)
    assert "fullduplex-audio" in str(info.value)
    assert "'BidiAudioIO'" in str(info.value)
    advice = expected_install_advice("fullduplex-audio", "FULLDUPLEX_DISABLE_PLUGINS")
    assert advice in str(info.value)


def test_missing_io_class_attribute_access_is_an_attribute_error(sandbox: PluginSandbox) -> None:
    sandbox.only()

    with pytest.raises(AttributeError) as info:
        _ = fullduplex.io.BidiTextIO
    assert isinstance(info.value, MissingPluginAttributeError)
    assert isinstance(info.value, MissingPluginError)
    assert "fullduplex-text" in str(info.value)
    assert hasattr(fullduplex.io, "BidiWavIO") is False


def test_missing_model_class_import_names_the_distribution(sandbox: PluginSandbox) -> None:
    sandbox.only()

    with pytest.raises(ImportError, match="fullduplex-openai"):
        from fullduplex.models import BidiOpenAIRealtimeModel  # noqa: F401


def test_unknown_name_without_hint_says_no_plugin_provides_it(sandbox: PluginSandbox) -> None:
    sandbox.only()

    with pytest.raises(ImportError, match=r"no loaded fullduplex plugin registers an? IO"):
        from fullduplex.io import BidiHologramIO  # noqa: F401


def test_io_class_resolves_from_a_plugin_that_provides_it(sandbox: PluginSandbox) -> None:
    sandbox.add("fakeaudio", io_plugin("fakeaudio", class_name="BidiAudioIO"))
    sandbox.only("fakeaudio")

    from fullduplex.io import BidiAudioIO

    assert BidiAudioIO.__module__ == sandbox.module_name("fakeaudio")
    # registered name works too, and both are the same class
    assert fullduplex.io.fakeaudio is BidiAudioIO


def test_model_class_resolves_from_a_plugin_that_provides_it(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "fakeopenai",
        """
        from fullduplex.hookspecs import hookimpl

        class BidiOpenAIRealtimeModel:
            def __init__(self, model_id="gpt-realtime"):
                self.model_id = model_id

        @hookimpl
        def register_models(register):
            register("openai", BidiOpenAIRealtimeModel, models=("gpt-realtime",))
        """,
    )
    sandbox.only("fakeopenai")

    from fullduplex.models import BidiOpenAIRealtimeModel

    assert BidiOpenAIRealtimeModel.__module__ == sandbox.module_name("fakeopenai")
    assert fullduplex.get_model("openai/gpt-realtime").model_id == "gpt-realtime"


def test_one_class_name_from_two_plugins_is_ambiguous(sandbox: PluginSandbox) -> None:
    sandbox.add("left", io_plugin("left", class_name="BidiTwinIO"))
    sandbox.add("right", io_plugin("right", class_name="BidiTwinIO"))
    sandbox.only("left", "right")

    with pytest.raises(fullduplex.DuplicateRegistrationError, match=r"'left'.*'right'"):
        from fullduplex.io import BidiTwinIO  # noqa: F401


def test_private_names_raise_plain_attribute_error(sandbox: PluginSandbox) -> None:
    sandbox.only()
    for module in (fullduplex.io, fullduplex.models):
        with pytest.raises(AttributeError) as info:
            _ = module.__wrapped__
        assert type(info.value) is AttributeError
        with pytest.raises(AttributeError) as info:
            _ = module._private
        assert type(info.value) is AttributeError


def test_protocols_are_importable_from_models_without_plugins(sandbox: PluginSandbox) -> None:
    sandbox.only()
    from fullduplex.model import BidiModel as Original
    from fullduplex.models import BidiModel, ModelCapabilities

    assert BidiModel is Original
    assert ModelCapabilities().input_sample_rate == 24000


def test_top_level_exports_every_event_class_and_matches_all() -> None:
    for name, cls in ((cls.__name__, cls) for cls in EVENT_CLASSES.values()):
        assert getattr(fullduplex, name) is cls
        assert name in fullduplex.__all__
    assert set(fullduplex.__all__) == set(fullduplex._LAZY) | {"__version__"}
    assert set(fullduplex.__all__) <= set(dir(fullduplex))


def test_top_level_names_resolve_to_their_modules() -> None:
    from fullduplex import errors, events, hookspecs, registry, tools

    assert fullduplex.hookimpl is hookspecs.hookimpl
    assert fullduplex.event_from_dict is events.event_from_dict
    assert fullduplex.list_plugins is registry.list_plugins
    assert fullduplex.tool is tools.tool
    assert fullduplex.stop_conversation is tools.stop_conversation
    assert fullduplex.NotRegisteredError is errors.NotRegisteredError
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = fullduplex.no_such_name


def test_version_matches_the_installed_metadata() -> None:
    assert fullduplex.__version__ == importlib.metadata.version("fullduplex")


def test_missing_tool_import_names_the_distribution(sandbox: PluginSandbox) -> None:
    sandbox.only()

    with pytest.raises(ImportError, match="fullduplex-tools"):
        from fullduplex.tools import calculator  # noqa: F401


def test_tool_resolves_from_a_plugin_that_provides_it(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "faketools",
        '''
        from fullduplex.hookspecs import hookimpl
        from fullduplex.tools import tool

        @tool
        def calculator(expression: str) -> str:
            """Evaluate an arithmetic expression.

            Args:
                expression: for example 2 + 2
            """
            return "4"

        @hookimpl
        def register_tools(register):
            register(calculator)
        ''',
    )
    sandbox.only("faketools")

    from fullduplex.tools import calculator

    assert calculator.name == "calculator"
    assert fullduplex.get_tool("calculator") is calculator


def test_bundled_names_by_reference_are_the_objects_their_packages_export() -> None:
    # fresh interpreter: the registry imports each module by its reference first,
    # then the package-level and seed-style imports must give the same objects
    code = (
        "import fullduplex\n"
        "tool = fullduplex.get_tool('calculator')\n"
        "from fullduplex_tools import calculator\n"
        "from fullduplex.tools import calculator as seed_style\n"
        "assert tool is calculator is seed_style, (tool, calculator, seed_style)\n"
        "from fullduplex.registry import registry\n"
        "text = registry().lookup('io', 'text').factory\n"
        "from fullduplex_text import BidiTextIO\n"
        "from fullduplex.io import BidiTextIO as seed_io\n"
        "assert text is BidiTextIO is seed_io\n"
        "from fullduplex_audio import BidiWavIO\n"
        "from fullduplex.io import BidiWavIO as seed_wav\n"
        "assert BidiWavIO is seed_wav is registry().lookup('io', 'wav').factory\n"
        "from fullduplex.models import BidiOpenAIRealtimeModel\n"
        "from fullduplex_openai import BidiOpenAIRealtimeModel as direct\n"
        "assert BidiOpenAIRealtimeModel is direct\n"
        "print('ok')\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FULLDUPLEX_LOAD_PLUGINS", "FULLDUPLEX_DISABLE_PLUGINS")
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_lazy_exports_import_a_name_on_first_use_and_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lazy_pkg_demo"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from fullduplex.lazyref import lazy_exports\n"
        "__getattr__, __dir__ = lazy_exports(__name__, {'Heavy': '.heavy'}, globals())\n"
    )
    (package / "heavy.py").write_text("class Heavy:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    import sys

    module = importlib.import_module("lazy_pkg_demo")
    assert "lazy_pkg_demo.heavy" not in sys.modules
    assert "Heavy" in dir(module)
    heavy = module.Heavy
    assert "lazy_pkg_demo.heavy" in sys.modules
    assert vars(module)["Heavy"] is heavy  # kept: the next access is a plain lookup
    with pytest.raises(AttributeError, match="'lazy_pkg_demo' has no attribute 'Light'"):
        _ = module.Light
    for name in [m for m in sys.modules if m.startswith("lazy_pkg_demo")]:
        del sys.modules[name]
