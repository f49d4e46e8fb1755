"""pytest fixture: start any registered provider's local emulator.

Installed as a ``pytest11`` plugin, so every test suite that has the kit
installed gets ``emulator_server``. It knows no provider: it looks the name up
in fullduplex's registry and enters the provider's ``local_server`` (the hook a
provider passes to ``register_models``), so a second provider's emulator works
here the day its plugin registers one, without a change to the kit::

    def test_hello(emulator_server):
        running = emulator_server("openai")          # or "openai/gpt-realtime"
        model = running.model(provider_config={...})  # a BidiModel pointed at it

Settings go to the provider's ``local_server`` as keywords; the bundled
providers take ``pace`` (seconds of wall time per second of answer audio:
``emulator_server("gemini", pace=1.0)`` streams answers at speaking pace, so a
test can barge in). A setting the provider's ``local_server`` does not accept
fails with a ``LookupError`` naming it. Every server started is stopped at
teardown. This module imports nothing heavy
(no aiohttp, no numpy) so that loading the plugin costs pytest nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING, Any, Protocol, cast

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


#: a ``local_server`` that takes settings (``pace=...``) as keywords
_ConfiguredServer = Callable[..., AbstractContextManager[Mapping[str, Any]]]


class StartEmulator(Protocol):
    """What the ``emulator_server`` fixture gives a test: ``(name, **settings) -> running``."""

    def __call__(self, name: str, **settings: Any) -> RunningEmulator: ...


def _refused(server: _ConfiguredServer, settings: Mapping[str, Any]) -> list[str]:
    """The settings ``server`` takes no keyword for (none when it takes ``**kwargs``)."""
    try:
        parameters = inspect.signature(server).parameters.values()
    except (TypeError, ValueError):  # no signature to read: let the call decide
        return []
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return []
    accepted = {
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    return [key for key in settings if key not in accepted]


def start_emulator(name: str, stack: ExitStack, **settings: Any) -> RunningEmulator:
    """Enter ``name``'s registered ``local_server`` on ``stack``; fail clearly without one.

    ``settings`` (``pace=1.0``) are passed to the ``local_server`` as keywords.
    """
    from fullduplex.registry import model_registration

    registration, _ = model_registration(name)
    if registration.local_server is None:
        raise LookupError(
            f"provider {registration.name!r} (plugin {registration.plugin!r}) "
            "registers no local_server to start"
        )
    # core's LocalServer type takes no arguments; providers may accept settings
    server = cast(_ConfiguredServer, registration.local_server)
    refused = _refused(server, settings)
    if refused:
        raise LookupError(
            f"provider {registration.name!r} (plugin {registration.plugin!r}): its "
            f"local_server takes no setting {', '.join(map(repr, refused))}"
        )
    connect_kwargs = stack.enter_context(server(**settings))
    return RunningEmulator(name, connect_kwargs)


@pytest.fixture
def emulator_server() -> Iterator[StartEmulator]:
    """Start a registered provider's emulator by model name; stopped after the test.

    ``emulator_server("gemini", pace=1.0)``: keyword settings go to its ``local_server``.
    """
    with ExitStack() as stack:

        def start(name: str, **settings: Any) -> RunningEmulator:
            return start_emulator(name, stack, **settings)

        yield start
