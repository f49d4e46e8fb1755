"""What an emulated model may see and say: the provider-neutral responder contract.

A provider's session asks a ``Responder`` two things: what a committed user
audio turn "said" (``transcribe``), and what to answer given the conversation
(``respond``, returning a ``Reply``: words to speak or write and/or function
calls). The session turns the ``Reply`` into its own wire events.

The conversation reaches the responder twice: ``turns``, a neutral view every
front-end builds (who said what, which tool was called, which result came
back), and ``items``, the provider's own wire items, untouched, for responders
written against one provider. The kit's own responders read only ``turns``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

#: who produced a turn: the user, the model, a system note, a tool call, a tool's result
TurnKind: TypeAlias = Literal["user", "assistant", "system", "tool_call", "tool_result"]


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A function call the model makes: the tool ``name`` and its JSON ``arguments`` string."""

    name: str
    arguments: str = "{}"


@dataclass(frozen=True, slots=True)
class Reply:
    """One response's content: ``text`` (spoken or written; may be empty), then function calls."""

    text: str = ""
    function_calls: tuple[FunctionCall, ...] = ()


@dataclass(frozen=True, slots=True)
class Turn:
    """One entry of the conversation, in words the kit understands.

    - ``user``: ``text`` is what the user typed or (as far as anyone knows) said, ``None``
      when it is audio nobody understood; ``audio_ms`` is the audio the session heard
      for it (0 for typed text or audio the client created).
    - ``assistant`` / ``system``: ``text`` as far as known.
    - ``tool_call``: ``name``, ``call_id``, ``arguments`` (JSON text).
    - ``tool_result``: ``call_id``, ``output`` (the tool's result as text).
    """

    kind: TurnKind
    id: str = ""
    text: str | None = None
    audio_ms: int = 0
    name: str | None = None
    call_id: str | None = None
    arguments: str = ""
    output: str = ""


@dataclass(frozen=True, slots=True)
class ToolDeclaration:
    """A function the session offers the model: its ``name`` and JSON-schema ``parameters``."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TurnContext:
    """What a responder may look at when answering.

    ``items`` are the provider's wire items in order (no audio bytes); ``turns`` the same
    conversation in the kit's neutral terms; ``tools`` the provider's tool objects and
    ``declarations`` the function tools among them, neutral. ``transcripts`` maps user
    audio item ids to what ``transcribe`` said they contain; ``audio_ms`` maps item ids to
    their audio length; ``idle_timeout`` is true for the response the server creates itself
    when the user stayed silent too long (the last turn is then the silent audio it committed).
    """

    items: Sequence[Mapping[str, Any]]
    tools: Sequence[Mapping[str, Any]]
    instructions: str
    transcripts: Mapping[str, str] = field(default_factory=dict)
    audio_ms: Mapping[str, int] = field(default_factory=dict)
    #: the user stayed silent for the server VAD's idle timeout: prompt them
    idle_timeout: bool = False
    turns: Sequence[Turn] = ()
    declarations: Sequence[ToolDeclaration] = ()

    def tool_named(self, name: str) -> ToolDeclaration | None:
        """The function tool called ``name``, if the session (or response) declares it."""
        for declaration in self.declarations:
            if declaration.name == name:
                return declaration
        return None


class Responder(ABC):
    """Decides the emulated model's output. Subclass and override ``respond``."""

    def transcribe(self, audio: bytes, duration_ms: int) -> str | None:
        """What a committed audio turn says, or ``None`` when unknown (the default)."""
        return None

    def hear(self, audio: bytes, duration_ms: int, pcm16: bytes, rate: int) -> str | None:
        """What a committed audio turn says, given also as mono PCM16 at ``rate`` Hz.

        Front-ends call this (not ``transcribe``) so a responder with ears can listen;
        ``audio`` is the turn in the wire's own encoding. It may block for a while
        (speech recognition): sessions that use it run off the event loop. The
        default asks ``transcribe``.
        """
        return self.transcribe(audio, duration_ms)

    @abstractmethod
    def respond(self, context: TurnContext) -> Reply:
        """The reply to the conversation as it stands."""
