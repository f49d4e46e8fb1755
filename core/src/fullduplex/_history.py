"""Where each message goes in the agent's history, and what marks it.

Kept apart from the conversation loop because the order is subtle: a spoken
user turn's transcript often arrives after the assistant already answered,
so the turn's place is remembered when the user stops speaking and the
transcript is inserted there; an assistant message whose item the user cut
short is marked ``"interrupted"``, whether the cut comes before or after its
transcript.

For a model that cannot truncate its own memory of an item, the agent's
history is the only record of what the user heard: such a cut also keeps
only the heard share of the item's transcript (:func:`heard_share`), again
whether the transcript came before the cut or arrives after it. The share is
an approximation: transcripts carry no timing, so the text is cut in
proportion to the heard time (``heard_ms / received_ms``), back to a word
boundary, as if speech were spoken at an even pace. A message of which
nothing was heard is left out (or taken out) of the history.
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
        #: cut items whose transcript keeps only this heard share (no truncation)
        self._keep: dict[str, float] = {}
        #: where each spoken user turn belongs (the history's length when it ended)
        self._user_slots: dict[str, int] = {}

    def user_turn_ended(self, item_id: str) -> None:
        """The user stopped speaking: their transcript, when it comes, goes here."""
        self._user_slots[item_id] = len(self._messages())
        if len(self._user_slots) > _MAX_USER_SLOTS:
            self._user_slots.pop(next(iter(self._user_slots)))

    def mark_interrupted(self, item_id: str, keep: float | None = None) -> None:
        """The user cut ``item_id`` short: mark its message (one recorded later is
        marked when it comes, from ``cut_items``).

        ``keep`` (a share in ``[0, 1]``) also shortens the message's text to what
        was heard, now or when its final transcript arrives.
        """
        if keep is not None:
            self._keep[item_id] = keep
            if len(self._keep) > _MAX_ASSISTANT:
                self._keep.pop(next(iter(self._keep)))
        message = self._assistant.get(item_id)
        if message is None:
            return
        message["interrupted"] = True
        if keep is not None:
            self._shorten(message, keep)

    def _shorten(self, message: Message, keep: float) -> None:
        """Cut a recorded message's text to ``keep``; take it out if nothing is left."""
        for block in message["content"]:
            if "text" in block:
                block["text"] = heard_share(block["text"], keep)
        message["content"] = [b for b in message["content"] if b.get("text", True)]
        if message["content"]:
            return
        messages = self._messages()
        for index, candidate in enumerate(messages):
            if candidate is message:
                del messages[index]
                for item, slot in self._user_slots.items():
                    if slot > index:
                        self._user_slots[item] = slot - 1
                return

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
        item = event.item_id
        keep = self._keep.get(item) if event.role == "assistant" and item is not None else None
        if keep is not None:
            text = heard_share(text, keep)
            if not text:
                return  # the user heard none of it
        message = text_message(event.role, text)
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


def heard_share(text: str, keep: float) -> str:
    """The first ``keep`` share of ``text``, cut back to a word boundary.

    An even-pace approximation (see the module docstring): ``keep=0.5`` of a
    ten-word sentence is about its first five words. A word is kept only when
    it ends within the share, so what remains was (about) all heard.
    """
    if keep >= 1.0:
        return text
    if keep <= 0.0:
        return ""
    end = int(len(text) * keep)
    if end < len(text) and not text[end].isspace():
        space = text.rfind(" ", 0, end + 1)
        end = space if space >= 0 else 0
    return text[:end].rstrip()
