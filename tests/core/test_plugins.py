"""Plugin loading: real entry points from temporary distributions on sys.path."""

from __future__ import annotations

import threading
import warnings

import pytest
from plugin_fixtures import PluginSandbox, io_plugin, sandbox

from fullduplex.plugins import (
    PluginLoadWarning,
    plugin_manager,
    plugins,
    reset_plugins,
)
from fullduplex.registry import get_io, registry

__all__ = ["sandbox"]


def _load_collecting() -> list[str]:
    """Load the plugins and collect the registry; the PluginLoadWarning messages raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry()  # loads the plugins, then runs their register_* hooks
    return [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)]


def _loaded_names() -> set[str]:
    return {info.name for info in plugins().infos}


def test_plugin_whose_import_raises_is_skipped_with_one_warning(sandbox: PluginSandbox) -> None:
    sandbox.add("good", io_plugin("good_channel"))
    bad_dist = sandbox.add("broken", "raise RuntimeError('cannot start: no licence')\n")
    sandbox.only("good", "broken")

    messages = _load_collecting()

    assert len(messages) == 1, messages
    assert "'broken'" in messages[0]
    assert bad_dist in messages[0]
    assert "cannot start: no licence" in messages[0]
    assert _loaded_names() == {"core", "good"}
    assert type(get_io("good_channel")).__name__ == "Channel"
    skipped = {s.name: s for s in plugins().skipped}
    assert skipped["broken"].distribution == bad_dist


def test_plugin_whose_register_hook_raises_is_skipped_and_its_partial_work_dropped(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add("good", io_plugin("good_channel"))
    dist = sandbox.add(
        "halfway",
        """
        from fullduplex.hookspecs import hookimpl

        class Early:
            pass

        @hookimpl
        def register_io(register):
            register("early", Early)
            raise ValueError("config file missing")
        """,
    )
    sandbox.only("good", "halfway")

    messages = _load_collecting()

    assert len(messages) == 1, messages
    assert "'halfway'" in messages[0]
    assert dist in messages[0]
    assert "register_io" in messages[0]
    assert "config file missing" in messages[0]
    assert "halfway" not in _loaded_names()
    assert plugin_manager().get_plugin("halfway") is None
    assert "early" not in registry().names("io")
    assert "good_channel" in registry().names("io")


def test_misspelt_hook_name_fails_loudly_as_a_skipped_plugin(sandbox: PluginSandbox) -> None:
    sandbox.add("good", io_plugin("good_channel"))
    dist = sandbox.add(
        "typo",
        """
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_tool(register):  # the hook is register_tools
            pass
        """,
    )
    sandbox.only("good", "typo")

    messages = _load_collecting()

    assert len(messages) == 1, messages
    assert "'typo'" in messages[0]
    assert dist in messages[0]
    assert "unknown hook" in messages[0]
    assert "register_tool" in messages[0]
    assert _loaded_names() == {"core", "good"}
    # the skipped plugin's hook is gone, so a later check_pending passes
    plugin_manager().check_pending()


def test_hook_with_wrong_argument_names_is_refused(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "badargs",
        """
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_io(registrar):
            pass
        """,
    )
    sandbox.only("badargs")

    messages = _load_collecting()

    assert len(messages) == 1, messages
    assert "'badargs'" in messages[0]
    assert "registrar" in messages[0]
    assert "badargs" not in _loaded_names()


def test_load_plugins_env_loads_only_the_named_plugins_and_core(sandbox: PluginSandbox) -> None:
    for name in ("alpha", "beta", "gamma"):
        sandbox.add(name, io_plugin(f"{name}_io"))
    sandbox.only("alpha", "gamma")

    assert _loaded_names() == {"core", "alpha", "gamma"}
    assert registry().names("io") == ["alpha_io", "gamma_io"]
    reasons = {s.name: s.reason for s in plugins().skipped}
    assert "FULLDUPLEX_LOAD_PLUGINS" in reasons["beta"]


def test_load_plugins_env_set_but_empty_loads_only_core(sandbox: PluginSandbox) -> None:
    sandbox.add("alpha", io_plugin("alpha_io"))
    sandbox.only()

    assert _loaded_names() == {"core"}


def test_disable_plugins_env_blocks_a_plugin_and_wins_over_load(sandbox: PluginSandbox) -> None:
    for name in ("alpha", "beta"):
        sandbox.add(name, io_plugin(f"{name}_io"))
    sandbox.monkeypatch.setenv("FULLDUPLEX_LOAD_PLUGINS", "alpha,beta")
    sandbox.disable("beta", "core")

    assert _loaded_names() == {"alpha"}
    reasons = {s.name: s.reason for s in plugins().skipped}
    assert "FULLDUPLEX_DISABLE_PLUGINS" in reasons["beta"]


def test_env_vars_are_read_when_plugins_load(sandbox: PluginSandbox) -> None:
    sandbox.add("alpha", io_plugin("alpha_io"))
    sandbox.only("alpha")
    assert "alpha" in _loaded_names()

    sandbox.disable("alpha")  # resets the cache
    assert "alpha" not in _loaded_names()


def test_plugin_info_records_version_distribution_and_hooks(sandbox: PluginSandbox) -> None:
    dist = sandbox.add(
        "multi",
        """
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_io(register):
            pass

        @hookimpl
        def on_agent_start(agent):
            pass
        """,
        version="4.5.6",
    )
    sandbox.only("multi")

    info = plugins().info("multi")
    assert info is not None
    assert (info.name, info.version, info.distribution) == ("multi", "4.5.6", dist)
    assert info.hooks == ("on_agent_start", "register_io")


def test_entry_point_naming_an_object_registers_its_hook_methods(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "objplug",
        """
        from fullduplex.hookspecs import hookimpl

        class Thing:
            pass

        class Hooks:
            @hookimpl
            def register_io(self, register):
                register("obj_io", Thing)

        hooks = Hooks()
        """,
        entry_point=f"{sandbox.module_name('objplug')}:hooks",
    )
    sandbox.only("objplug")

    assert "obj_io" in registry().names("io")


def test_two_distributions_with_one_plugin_name_keep_the_first(sandbox: PluginSandbox) -> None:
    sandbox.add("same", io_plugin("first_io"), distribution="fullduplex-aaa-test")
    # a second distribution declaring the same entry-point name, other module
    module = sandbox.module_name("same2")
    (sandbox.root / f"{module}.py").write_text(
        "from fullduplex.hookspecs import hookimpl\n"
        "@hookimpl\n"
        "def register_io(register):\n"
        "    register('second_io', object)\n"
    )
    sandbox.modules.append(module)
    info = sandbox.root / "fullduplex_bbb_test-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fullduplex-bbb-test\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(f"[fullduplex]\nsame = {module}\n")
    sandbox.only("same")

    messages = _load_collecting()

    assert len(messages) == 1, messages
    assert "'same'" in messages[0]
    assert "fullduplex-aaa-test" in messages[0]
    assert "fullduplex-bbb-test" in messages[0]
    assert len(registry().names("io")) == 1


def test_plugin_using_the_registry_while_loading_is_skipped_not_deadlocked(
    sandbox: PluginSandbox,
) -> None:
    sandbox.add(
        "eager",
        """
        import fullduplex.registry
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def register_io(register):
            fullduplex.registry.get_io("anything")
        """,
    )
    sandbox.only("eager")

    messages = _load_collecting()

    assert len(messages) == 1, messages
    assert "'eager'" in messages[0]
    assert "while plugins were loading" in messages[0]


def test_plugin_manager_is_cached_and_reset_reloads(sandbox: PluginSandbox) -> None:
    sandbox.only()
    first = plugin_manager()
    assert plugin_manager() is first
    reset_plugins()
    assert plugin_manager() is not first


def test_concurrent_first_use_loads_once(sandbox: PluginSandbox) -> None:
    sandbox.add("alpha", io_plugin("alpha_io"))
    sandbox.only("alpha")
    barrier = threading.Barrier(8)
    seen: list[object] = []

    def worker() -> None:
        barrier.wait()
        seen.append(plugins())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(seen) == 8
    assert all(p is seen[0] for p in seen)


def test_lifecycle_hooks_are_callable_through_the_facade(sandbox: PluginSandbox) -> None:
    sandbox.add(
        "life",
        """
        from fullduplex.hookspecs import hookimpl

        @hookimpl
        def on_agent_start(agent):
            return ("started", agent)
        """,
    )
    sandbox.only("life")

    results = plugins().call("on_agent_start", agent="the-agent")

    assert results == [("started", "the-agent")]
    assert [impl.plugin for impl in plugins().implementations("on_agent_start")] == ["life"]


@pytest.mark.parametrize("var", ["FULLDUPLEX_LOAD_PLUGINS", "FULLDUPLEX_DISABLE_PLUGINS"])
def test_env_values_are_trimmed(sandbox: PluginSandbox, var: str) -> None:
    sandbox.add("alpha", io_plugin("alpha_io"))
    sandbox.monkeypatch.setenv("FULLDUPLEX_LOAD_PLUGINS", "alpha")
    sandbox.monkeypatch.setenv(var, " alpha , ")
    reset_plugins()

    loaded = "alpha" in _loaded_names()
    assert loaded is (var == "FULLDUPLEX_LOAD_PLUGINS")


def test_skip_warning_points_at_the_callers_line_not_the_loader(sandbox: PluginSandbox) -> None:
    sandbox.add("broken", "raise RuntimeError('nope')\n")
    sandbox.only("broken")

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plugins()

    (warning,) = [w for w in caught if issubclass(w.category, PluginLoadWarning)]
    assert warning.filename == __file__
