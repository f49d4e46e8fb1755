"""Real, temporary plugin distributions for the plugin-system tests.

A distribution here is what an installer leaves on disk: a ``*.dist-info``
directory (METADATA and entry_points.txt) next to the plugin's module, in a
directory put on ``sys.path``. ``importlib.metadata`` finds it exactly as it
finds an installed wheel, so the loader is exercised end to end, nothing
patched. Module names get a per-test suffix so no test sees another's module
left in ``sys.modules``.
"""

from __future__ import annotations

import importlib.metadata
import os
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from fullduplex.plugins import DISABLE_ENV, LOAD_ENV, reset_plugins


class PluginSandbox:
    """Writes plugin distributions into one ``sys.path`` directory."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self.monkeypatch = monkeypatch
        self.suffix = uuid.uuid4().hex[:8]
        self.modules: list[str] = []

    def module_name(self, plugin: str) -> str:
        return f"fdtest_{plugin}_{self.suffix}"

    def add(
        self,
        plugin: str,
        source: str,
        *,
        distribution: str | None = None,
        version: str = "1.2.3",
        entry_point: str | None = None,
    ) -> str:
        """Write a distribution whose entry point ``plugin`` names a module of ``source``.

        Returns the distribution name (``fullduplex-<plugin>-test`` by default).
        """
        dist = distribution or f"fullduplex-{plugin}-test"
        module = self.module_name(plugin)
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        target = entry_point or module
        (info / "entry_points.txt").write_text(f"[fullduplex]\n{plugin} = {target}\n")
        self.modules.append(module)
        return dist

    def add_module(self, stem: str, source: str) -> str:
        """Write a plain module (no entry point) next to the plugins; returns its name.

        For plugins that register by reference (``"<module>:Name"``): the
        module is imported only when the reference is first used.
        """
        module = self.module_name(stem)
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        self.modules.append(module)
        return module

    def only(self, *plugins: str) -> None:
        """Load only these plugins (plus core): FULLDUPLEX_LOAD_PLUGINS."""
        self.monkeypatch.setenv(LOAD_ENV, ",".join(plugins))
        reset_plugins()

    def disable(self, *plugins: str) -> None:
        self.monkeypatch.setenv(DISABLE_ENV, ",".join(plugins))
        reset_plugins()

    def subprocess_env(self) -> dict[str, str]:
        """Environment for a child process that sees these distributions."""
        env = dict(os.environ)
        paths = [str(self.root), *[p for p in sys.path if p]]
        env["PYTHONPATH"] = os.pathsep.join(paths)
        return env


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PluginSandbox]:
    """A fresh plugin directory on ``sys.path``; plugins reloaded before and after."""
    monkeypatch.delenv(LOAD_ENV, raising=False)
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    box = PluginSandbox(root, monkeypatch)
    reset_plugins()
    yield box
    reset_plugins()
    for module in box.modules:
        sys.modules.pop(module, None)


def installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def expected_install_advice(distribution: str, filtered_by: str) -> str:
    """What a missing-name error must say: install it, or why its installed plugin is off."""
    return filtered_by if installed(distribution) else f"pip install {distribution}"


#: A plugin registering one IO channel class named ``Channel`` under ``name``.
def io_plugin(name: str, class_name: str = "Channel") -> str:
    return f"""
        from fullduplex.hookspecs import hookimpl

        class {class_name}:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

        @hookimpl
        def register_io(register):
            register({name!r}, {class_name})
        """
