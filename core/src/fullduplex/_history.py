"""Where each message goes in the agent's history, and what marks it.

Kept apart from the conversation loop because the order is subtle: a spoken
user turn's transcript often arrives after the assistant already answered,
so the turn's place is remembered when the user stops speaking and the
transcript is inserted there; an assistant message whose item the user cut
short is marked ``"interrupted"``, whether the cut comes before or after its
transcript.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Container

from .events import BidiTranscriptStreamEvent
from .messages import Message, Messages, text_message

#: spoken user turns whose place in history is remembered until their transcript
_MAX_USER_SLOTS = 32
#: assistant messages remembered by item, to be marked when cut late
_MAX_ASSISTANT = 64


class HistoryRecorder:
    """Appends (or inserts) messages into ``messages`` and tells ``on_added``."""

    def __init__(
        self,
        messages: Callable[[], Messages],
        on_added: Callable[[Message], Awaitable[None]] | None,
        cut_items: Container[str],
    ) -> None:
        self._messages = messages
        self._on_added = on_added
        self._cut_items = cut_items
        self._assistant: dict[str, Message] = {}
        #: where each spoken user turn belongs (the history's length when it ended)
        self._user_slots: dict[str, int] = {}

    def user_turn_ended(self, item_id: str) -> None:
        """The user stopped speaking: their transcript, when it comes, goes here."""
        self._user_slots[item_id] = len(self._messages())
        if len(self._user_slots) > _MAX_USER_SLOTS:
            self._user_slots.pop(next(iter(self._user_slots)))

    def mark_interrupted(self, item_id: str) -> None:
        """The user cut ``item_id`` short: mark its message (one recorded later is
        marked when it comes, from ``cut_items``)."""
        message = self._assistant.get(item_id)
        if message is not None:
            message["interrupted"] = True

    async def record(self, message: Message, at: int | None = None) -> None:
        """Append ``message`` (or insert it at ``at``) and tell the hooks."""
        messages = self._messages()
        if at is None or at >= len(messages):
            messages.append(message)
        else:
            messages.insert(at, message)
            for item, slot in self._user_slots.items():
                if slot >= at:
                    self._user_slots[item] = slot + 1
        if self._on_added is not None:
            await self._on_added(message)

    async def record_transcript(self, event: BidiTranscriptStreamEvent) -> None:
        """Record a final transcript as a text message, in its place."""
        text = event.current_transcript or event.text
        if not text:
            return
        message = text_message(event.role, text)
        item = event.item_id
        if event.role == "assistant" and item is not None:
            self._assistant[item] = message
            if len(self._assistant) > _MAX_ASSISTANT:
                self._assistant.pop(next(iter(self._assistant)))
            if item in self._cut_items:
                message["interrupted"] = True
        at = None
        if event.role == "user" and item is not None:
            at = self._user_slots.pop(item, None)
        await self.record(message, at)
