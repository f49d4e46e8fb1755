"""Test helpers for fullduplex and its plugins: a scripted model, IO doubles, fixtures.

pytest loads this module at start-up through the ``pytest11`` entry point, for
every test run in an environment where fullduplex is installed, so it imports
nothing heavy: attrs and the event and protocol contracts only.

:class:`FakeModel` implements :class:`~fullduplex.model.BidiModel` by playing a
script, one step after another, across connections (a restart continues the
script where the failure left it)::

    model = FakeModel([
        expect(BidiTextInputEvent),                 # wait for the user's text
        emit(BidiResponseStartEvent("r1"), ...),    # then answer
        fail(ModelConnectionError("dropped")),      # then drop the connection
        end(),                                      # or close it for good
    ])

It records every event sent to it (``model.sent``) and every ``start()`` call
with its arguments (``model.starts``). When the script runs out the connection
idles until ``stop()``, like a live one.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .events import (
    BidiAudioStreamEvent,
    BidiInputEvent,
    BidiOutputEvent,
    BidiTextInputEvent,
)
from .model import ModelCapabilities

if TYPE_CHECKING:
    from .agent import BidiAgent
    from .messages import Message
    from .tools import ToolSpec


# ------------------------------------------------------------------------ steps


@attrs.frozen
class Expect:
    """Wait until an input matching ``kind`` (and ``where``) has been sent."""

    kind: type[Any] | tuple[type[Any], ...] = object
    where: Callable[[Any], bool] | None = None

    def matches(self, event: object) -> bool:
        return isinstance(event, self.kind) and (self.where is None or self.where(event))


@attrs.frozen
class Emit:
    """Yield these events from ``receive()``, in order."""

    events: tuple[BidiOutputEvent, ...]


@attrs.frozen
class Fail:
    """Raise ``error`` from ``receive()`` (a ``ModelConnectionError`` is restartable)."""

    error: BaseException


@attrs.frozen
class Pause:
    """Wait ``seconds`` before the next step (the connection stays open)."""

    seconds: float


@attrs.frozen
class End:
    """End ``receive()`` normally, as when the provider closes the connection."""


Step = Expect | Emit | Fail | Pause | End


def expect(
    kind: type[Any] | tuple[type[Any], ...] = object,
    where: Callable[[Any], bool] | None = None,
) -> Expect:
    """A step that waits for an input of type ``kind`` satisfying ``where``."""
    return Expect(kind, where)


def emit(*events: BidiOutputEvent) -> Emit:
    """A step that yields ``events``."""
    return Emit(tuple(events))


def fail(error: BaseException) -> Fail:
    """A step that raises ``error`` from ``receive()``."""
    return Fail(error)


def pause(seconds: float) -> Pause:
    """A step that waits before going on."""
    return Pause(seconds)


def end() -> End:
    """A step that ends the stream normally."""
    return End()


@attrs.frozen
class StartCall:
    """The arguments of one ``FakeModel.start()`` call (copied when made)."""

    system_prompt: str | None
    tools: tuple[ToolSpec, ...]
    messages: list[Message]


# ------------------------------------------------------------------------- model


class FakeModel:
    """A scripted :class:`~fullduplex.model.BidiModel` for tests.

    ``send`` raises ``send_error`` when one is set (to simulate a write on a
    dead socket); ``receive`` plays the script. The capability flags the agent
    adapts to are keyword arguments (``truncation=True``,
    ``server_interrupts=False``...), applied over ``capabilities``;
    ``answer_pending`` is a plain attribute a test sets.
    """

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        capabilities: ModelCapabilities | None = None,
        model_id: str = "fake-model",
        truncation: bool | None = None,
        server_turn_detection: bool | None = None,
        server_interrupts: bool | None = None,
        response_cancel: bool | None = None,
        resumption: bool | None = None,
        mid_session_history: bool | None = None,
        input_rates: tuple[int, ...] | None = None,
        **capability_overrides: Any,
    ) -> None:
        flags = {
            "truncation": truncation,
            "server_turn_detection": server_turn_detection,
            "server_interrupts": server_interrupts,
            "response_cancel": response_cancel,
            "resumption": resumption,
            "mid_session_history": mid_session_history,
            "input_rates": input_rates,
        }
        overrides: dict[str, Any] = {k: v for k, v in flags.items() if v is not None}
        overrides.update(capability_overrides)
        base = capabilities or ModelCapabilities()
        self._capabilities = attrs.evolve(base, **overrides)
        #: what ``answer_pending`` reports (a test sets it)
        self.pending_answer = False
        self._model_id = model_id
        self.script: list[Step] = list(script)
        self.position = 0
        self.sent: list[BidiInputEvent] = []
        self.starts: list[StartCall] = []
        self.stop_calls = 0
        self.send_error: BaseException | None = None
        self.running = False
        self._consumed = 0
        self._changed = asyncio.Event()
        self._stopped = asyncio.Event()

    # BidiModel ------------------------------------------------------------------
    @property
    def capabilities(self) -> ModelCapabilities:
        return self._capabilities

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def answer_pending(self) -> bool:
        return self.pending_answer

    async def start(
        self,
        system_prompt: str | None = None,
        tools: Sequence[ToolSpec] | None = None,
        messages: Sequence[Message] | None = None,
    ) -> None:
        self.starts.append(
            StartCall(system_prompt, tuple(tools or ()), copy.deepcopy(list(messages or [])))
        )
        self.running = True
        self._stopped = asyncio.Event()

    async def send(self, event: BidiInputEvent) -> None:
        if self.send_error is not None:
            raise self.send_error
        self.sent.append(event)
        self._changed.set()

    async def receive(self) -> AsyncIterator[BidiOutputEvent]:
        stopped = self._stopped
        while not stopped.is_set():
            if self.position >= len(self.script):
                await self._wait(stopped, None)
                continue
            step = self.script[self.position]
            if isinstance(step, Expect):
                if not self._take(step):
                    await self._wait(stopped, None)
                    continue
            elif isinstance(step, Emit):
                self.position += 1
                for event in step.events:
                    if stopped.is_set():
                        return
                    yield event
                    await asyncio.sleep(0)
                continue
            elif isinstance(step, Fail):
                self.position += 1
                raise step.error
            elif isinstance(step, Pause):
                self.position += 1
                await self._wait(stopped, step.seconds, on_change=False)
                continue
            else:
                self.position += 1
                return
            self.position += 1

    async def stop(self) -> None:
        self.stop_calls += 1
        self.running = False
        self._stopped.set()
        self._changed.set()

    # test helpers -----------------------------------------------------------------
    def add(self, *steps: Step) -> FakeModel:
        """Append steps to the script (wakes a waiting ``receive``)."""
        self.script.extend(steps)
        self._changed.set()
        return self

    @property
    def finished(self) -> bool:
        """True when every step of the script has been played."""
        return self.position >= len(self.script)

    def sent_of(self, kind: type[Any]) -> list[Any]:
        """The sent events of one type, in order."""
        return [event for event in self.sent if isinstance(event, kind)]

    async def wait_sent(self, kind: type[Any], count: int = 1) -> list[Any]:
        """Wait until at least ``count`` events of ``kind`` were sent; return them."""
        while len(self.sent_of(kind)) < count:
            self._changed.clear()
            if len(self.sent_of(kind)) >= count:
                break
            await self._changed.wait()
        return self.sent_of(kind)

    def _take(self, step: Expect) -> bool:
        for index in range(self._consumed, len(self.sent)):
            if step.matches(self.sent[index]):
                self._consumed = index + 1
                return True
        return False

    async def _wait(
        self, stopped: asyncio.Event, timeout: float | None, *, on_change: bool = True
    ) -> None:
        """Sleep until stop or ``timeout``, or (``on_change``) a send or a new step."""
        self._changed.clear()
        waiters = {asyncio.ensure_future(stopped.wait())}
        if on_change:
            waiters.add(asyncio.ensure_future(self._changed.wait()))
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiters:
                task.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)


# ---------------------------------------------------------------------------- IO


class ScriptedInput:
    """An input that returns scripted events (text becomes a text input), then None.

    A number in the script is a pause in seconds; an :class:`asyncio.Event`
    holds the input until it is set.
    """

    def __init__(self, items: Iterable[object] = ()) -> None:
        self.items: list[object] = list(items)
        self.started_with: BidiAgent | None = None
        self.stopped = 0
        self.returned: list[BidiInputEvent] = []

    async def start(self, agent: BidiAgent) -> None:
        self.started_with = agent

    async def stop(self) -> None:
        self.stopped += 1

    async def __call__(self) -> BidiInputEvent | None:
        while self.items:
            item = self.items.pop(0)
            if isinstance(item, int | float) and not isinstance(item, bool):
                await asyncio.sleep(item)
                continue
            if isinstance(item, asyncio.Event):
                await item.wait()
                continue
            event: BidiInputEvent = (
                BidiTextInputEvent(item) if isinstance(item, str) else item  # type: ignore[assignment]
            )
            self.returned.append(event)
            return event
        return None


class RecordingOutput:
    """An output that records every event it is given.

    ``delay_s`` makes it slow (it sleeps that long per event), to show that a
    slow output stalls nobody else. ``events`` holds what it received, in
    order of arrival.
    """

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.events: list[BidiOutputEvent] = []
        self.started_with: BidiAgent | None = None
        self.stopped = 0
        self._changed = asyncio.Event()

    async def start(self, agent: BidiAgent) -> None:
        self.started_with = agent

    async def stop(self) -> None:
        self.stopped += 1

    async def __call__(self, event: BidiOutputEvent) -> None:
        self.events.append(event)
        self._changed.set()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)

    def of(self, kind: type[Any]) -> list[Any]:
        """The received events of one type."""
        return [event for event in self.events if isinstance(event, kind)]

    @property
    def audio(self) -> bytes:
        """All audio received, joined."""
        return b"".join(e.audio for e in self.events if isinstance(e, BidiAudioStreamEvent))

    async def wait_for(self, kind: type[Any], count: int = 1) -> list[Any]:
        """Wait until ``count`` events of ``kind`` arrived; return them."""
        while len(self.of(kind)) < count:
            self._changed.clear()
            if len(self.of(kind)) >= count:
                break
            await self._changed.wait()
        return self.of(kind)


# ----------------------------------------------------------------------- fixtures

try:
    import pytest
except ImportError:  # pragma: no cover - the helpers above work without pytest
    pass
else:

    @pytest.fixture
    def fake_model() -> FakeModel:
        """An empty scripted model; add steps with ``fake_model.add(...)``."""
        return FakeModel()

    @pytest.fixture
    def recording_output() -> RecordingOutput:
        """An output that records what it receives."""
        return RecordingOutput()


__all__ = [
    "Emit",
    "End",
    "Expect",
    "Fail",
    "FakeModel",
    "Pause",
    "RecordingOutput",
    "ScriptedInput",
    "StartCall",
    "Step",
    "emit",
    "end",
    "expect",
    "fail",
    "pause",
]
