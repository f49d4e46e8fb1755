"""The default conversation: an ordered list of items and their audio.

Items are kept as the JSON objects the service sends, without audio bytes;
audio lives beside them (``audio_of``) so that ``conversation.item.added`` /
``done`` never carry it while ``conversation.item.retrieve`` can. Insertion
follows the service's ``previous_item_id`` rules: absent appends, ``"root"``
inserts first, an existing id inserts after it, an unknown id is an error.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from .errors import RealtimeProtocolError

ROOT = "root"


def item_not_found(item_id: object, param: str = "item_id") -> RealtimeProtocolError:
    """The error for an id that names no item of the conversation."""
    return RealtimeProtocolError(
        "item_not_found", f"Item with item_id '{item_id}' not found in the conversation.", param
    )


class Conversation:
    """Ordered items, their audio, and the ``previous_item_id`` chain."""

    def __init__(self) -> None:
        self._items: list[dict[str, Any]] = []
        self._audio: dict[str, bytearray] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return any(item["id"] == item_id for item in self._items)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The items in order (live objects: callers must not mutate them)."""
        return self._items

    def _index(self, item_id: str) -> int:
        for i, item in enumerate(self._items):
            if item["id"] == item_id:
                return i
        raise item_not_found(item_id)

    def get(self, item_id: str) -> dict[str, Any]:
        """The item with this id, or an ``item_not_found`` protocol error."""
        return self._items[self._index(item_id)]

    def previous_id(self, item_id: str) -> str | None:
        """The id of the item before this one, ``None`` for the first."""
        i = self._index(item_id)
        return self._items[i - 1]["id"] if i else None

    def last_id(self) -> str | None:
        """The id of the last item, ``None`` when empty."""
        return self._items[-1]["id"] if self._items else None

    def insert(
        self, item: dict[str, Any], previous_item_id: str | None = None, audio: bytes = b""
    ) -> str | None:
        """Insert ``item`` and return the id of the item now before it.

        ``previous_item_id`` ``None`` appends, ``"root"`` inserts first, otherwise after that id.
        """
        if item["id"] in self:
            raise RealtimeProtocolError(
                "item_already_exists", f"Item with id '{item['id']}' already exists.", "item.id"
            )
        if previous_item_id is None:
            position = len(self._items)
        elif previous_item_id == ROOT:
            position = 0
        else:
            if previous_item_id not in self:
                raise item_not_found(previous_item_id, "previous_item_id")
            position = self._index(previous_item_id) + 1
        self._items.insert(position, item)
        if audio:
            self._audio[item["id"]] = bytearray(audio)
        return self._items[position - 1]["id"] if position else None

    def delete(self, item_id: str) -> None:
        """Remove an item (and its audio)."""
        del self._items[self._index(item_id)]
        self._audio.pop(item_id, None)

    def audio_of(self, item_id: str) -> bytearray:
        """The item's audio bytes (created empty on first use)."""
        return self._audio.setdefault(item_id, bytearray())

    def retrieved(self, item_id: str) -> dict[str, Any]:
        """A copy of the item with its audio as base64, for ``conversation.item.retrieved``."""
        item = copy.deepcopy(self.get(item_id))
        audio = self._audio.get(item_id)
        if audio:
            for part in item.get("content", ()):
                if part.get("type") in ("input_audio", "output_audio"):
                    part["audio"] = base64.b64encode(bytes(audio)).decode("ascii")
                    break
        return item

    def truncate_audio(self, item_id: str, audio_end_ms: int, bytes_per_ms: int) -> None:
        """Cut an assistant audio item to ``audio_end_ms`` and delete its transcript.

        The service deletes the whole transcript, not just the unheard words: its API
        reference says truncating "will delete the server-side text transcript", and
        clients retrieving the item afterwards see ``transcript: ""``
        (openai/openai-realtime-agents#112, openai/openai-agents-js#523).
        """
        item = self.get(item_id)
        del self.audio_of(item_id)[audio_end_ms * bytes_per_ms :]
        for part in item.get("content", ()):
            if part.get("type") == "output_audio":
                part["transcript"] = ""
