"""pytest fixture: start any registered provider's local emulator.

Installed as a ``pytest11`` plugin, so every test suite that has the kit
installed gets ``emulator_server``. It knows no provider: it looks the name up
in fullduplex's registry and enters the provider's ``local_server`` (the hook a
provider passes to ``register_models``), so a second provider's emulator works
here the day its plugin registers one, without a change to the kit::

    def test_hello(emulator_server):
        running = emulator_server("openai")          # or "openai/gpt-realtime"
        model = running.model(provider_config={...})  # a BidiModel pointed at it

Every server started is stopped at teardown. This module imports nothing heavy
(no aiohttp, no numpy) so that loading the plugin costs pytest nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fullduplex.model import BidiModel


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, merging nested mappings (``client_config`` and the like)."""
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


class RunningEmulator:
    """A provider's emulator while it serves: what to pass its model to reach it."""

    def __init__(self, name: str, connect_kwargs: Mapping[str, Any]) -> None:
        #: the model name it was started for (``"openai"``, ``"openai/gpt-realtime"``)
        self.name = name
        #: keyword arguments for the provider's model factory (``client_config``...)
        self.connect_kwargs = connect_kwargs

    def model(self, **kwargs: Any) -> BidiModel:
        """Build the registered model, pointed at this emulator (``kwargs`` merged in)."""
        from fullduplex.registry import get_model

        return get_model(self.name, **_merged(self.connect_kwargs, kwargs))


def start_emulator(name: str, stack: ExitStack) -> RunningEmulator:
    """Enter ``name``'s registered ``local_server`` on ``stack``; fail clearly without one."""
    from fullduplex.registry import model_registration

    registration, _ = model_registration(name)
    if registration.local_server is None:
        raise LookupError(
            f"provider {registration.name!r} (plugin {registration.plugin!r}) "
            "registers no local_server to start"
        )
    connect_kwargs = stack.enter_context(registration.local_server())
    return RunningEmulator(name, connect_kwargs)


@pytest.fixture
def emulator_server() -> Iterator[Callable[[str], RunningEmulator]]:
    """Start a registered provider's emulator by model name; stopped after the test."""
    with ExitStack() as stack:
        yield lambda name: start_emulator(name, stack)
