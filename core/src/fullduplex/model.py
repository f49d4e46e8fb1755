"""The ``BidiModel`` protocol every provider implements, and its capability flags.

A model is one live connection to a speech-to-speech service. The agent drives
it: ``start`` opens and configures the connection (replaying ``messages`` when
it is a restart), ``send`` forwards input events, ``receive`` yields output
events, ``stop`` closes it. ``capabilities`` lets the agent and the IO channels
adapt (sample rates, truncation, images) without ``isinstance`` checks.

Contract the agent relies on:

- ``receive()`` ends when the connection closes normally, raises a
  :class:`~fullduplex.errors.ModelError` when it fails, and never hangs after
  ``stop()``.
- A failure the conversation can survive (dropped socket, the client-side
  ``timeout_s``, the provider's session cap) is raised as a
  :class:`~fullduplex.errors.ModelConnectionError` (``restartable``); the agent
  then calls ``stop()`` and ``start()`` again with the full history.
- ``send`` may be called from any task while ``receive`` is being iterated.
- ``answer_pending`` is true while the model owes an answer it has not begun
  (input queued behind the active response, a response requested but not yet
  started). ``BidiAgent.run()`` waits for it to clear before ending after its
  inputs finish, so a burst of typed lines gets every answer. A model that
  never holds input back simply returns ``False``.
- Tools the model sees can change during a conversation (a tool provider such
  as an MCP server announced a new list). A model whose ``capabilities.tool_update``
  is true also implements :class:`ToolUpdatingModel` -- ``update_tools(specs)``,
  which replaces the live session's tools (the OpenAI provider sends a
  ``session.update`` carrying them). Without the flag the agent keeps the new
  list and hands it to the next ``start()`` (a reconnect). ``update_tools`` is
  a separate protocol, not a member of :class:`BidiModel`, so models written
  before it still pass ``isinstance(model, BidiModel)``.

Who decides what: the model reports facts (user speech started or stopped,
audio received for an item, a response started or ended and why, the server
cutting a response itself) and carries out requests (truncate an item, cancel
a response). Whether the user interrupted, what they heard and what to cut is
decided by the agent alone, from those facts and the flags below.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from .events import AudioFormat, BidiInputEvent, BidiOutputEvent

if TYPE_CHECKING:
    from .messages import Message
    from .tools import ToolSpec


@attrs.frozen(slots=True)
class ModelCapabilities:
    """What a model can take and give, read by the agent and the IO channels.

    The sample rates are those the model accepts and emits at the SDK boundary
    (after any resampling it does itself), so a microphone can record at
    ``input_sample_rate`` and a speaker play at ``output_sample_rate``.
    """

    input_sample_rate: int = 24000
    output_sample_rate: int = 24000
    channels: int = 1
    audio_format: AudioFormat = "pcm16"
    audio_input: bool = True
    audio_output: bool = True
    text_input: bool = True
    image_input: bool = False
    tools: bool = True
    #: the model accepts ``BidiAudioTruncateEvent`` to forget the unheard end of
    #: an assistant item; the agent sends one after an interruption only then
    truncation: bool = False
    #: the model can be restarted with history after a ``ModelConnectionError``
    restartable: bool = True
    #: the server detects the user's turns itself (voice activity) and reports
    #: them as ``BidiSpeechEvent``; the agent decides interruptions from those
    server_turn_detection: bool = False
    #: the server cancels the streaming response by itself when the user starts
    #: speaking; when false (and ``response_cancel`` is true) the agent sends a
    #: ``BidiResponseCancelEvent`` on an interruption
    server_interrupts: bool = False
    #: the model accepts ``BidiResponseCancelEvent``
    response_cancel: bool = False
    #: the provider can resume a dropped session from a handle instead of
    #: replaying the history into a fresh one
    resumption: bool = False
    #: history (replayed items) can be added to a live session; when false it
    #: can only be given at ``start()``
    mid_session_history: bool = True
    #: input sample rates accepted at the SDK boundary; empty means
    #: ``input_sample_rate`` only
    input_rates: tuple[int, ...] = ()
    #: the live session's tools can be replaced (``update_tools``, see
    #: :class:`ToolUpdatingModel`); when false a changed tool list reaches the
    #: model at the next ``start()`` (a reconnect) only
    tool_update: bool = False

    def accepts_input_rate(self, rate: int) -> bool:
        """Whether input audio at ``rate`` Hz is taken as it is."""
        return rate == self.input_sample_rate or rate in self.input_rates


@runtime_checkable
class BidiModel(Protocol):
    """One bidirectional streaming connection to a speech-to-speech model."""

    @property
    def capabilities(self) -> ModelCapabilities:
        """What this model takes and gives."""
        ...

    @property
    def model_id(self) -> str:
        """The provider's name for the model (``gpt-realtime``)."""
        ...

    async def start(
        self,
        system_prompt: str | None = None,
        tools: Sequence[ToolSpec] | None = None,
        messages: Sequence[Message] | None = None,
    ) -> None:
        """Open and configure the connection; replay ``messages`` as context."""
        ...

    async def send(self, event: BidiInputEvent) -> None:
        """Send one input event (text, audio, image, tool result, truncation)."""
        ...

    def receive(self) -> AsyncIterator[BidiOutputEvent]:
        """Yield output events until the connection closes; raise on failure."""
        ...

    async def stop(self) -> None:
        """Close the connection. Safe to call twice and while ``receive`` runs."""
        ...

    @property
    def answer_pending(self) -> bool:
        """An answer is owed and not yet begun (requested, or queued behind another)."""
        ...


@runtime_checkable
class ToolUpdatingModel(BidiModel, Protocol):
    """A :class:`BidiModel` whose live session's tools can be replaced.

    Implemented by models that set ``capabilities.tool_update``; the agent
    calls it when a tool provider's list changes mid-conversation.
    """

    async def update_tools(self, tools: Sequence[ToolSpec]) -> None:
        """Make ``tools`` the session's whole tool list from now on.

        Called between ``start()`` and ``stop()``; with no live connection it
        does nothing (the next ``start()`` receives the tools anyway). Raises a
        :class:`~fullduplex.errors.ModelError` when the connection is dead.
        """
        ...
