"""Turning output events into terminal lines: role labels, partials in place, colour.

Kept apart from the IO plumbing so the formatting can be tested on its own. The
renderer writes to any text stream. On a terminal it redraws the transcript
being spoken on one line (``\\r`` and erase-line) and prints the final line
when the item completes; on a pipe or file it prints final lines only, so the
output reads as a clean log. Colour appears only on a terminal, and never when
``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
import shutil
from typing import TextIO

from fullduplex.events import (
    BidiConnectionRestartEvent,
    BidiErrorEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiTranscriptStreamEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)

_RESET = "\x1b[0m"
_STYLES = {
    "user": "\x1b[1;36m",  # bold cyan
    "assistant": "\x1b[1;32m",  # bold green
    "tool": "\x1b[33m",  # yellow
    "interrupt": "\x1b[35m",  # magenta
    "error": "\x1b[1;31m",  # bold red
    "note": "\x1b[2m",  # dim
}
_LABELS = {"user": "You:", "assistant": "Assistant:"}
_ERASE_LINE = "\r\x1b[K"
#: longest tool argument / result text shown before it is shortened
_MAX_DETAIL = 200


def wants_color(stream: TextIO, color: bool | None = None) -> bool:
    """Colour when asked, else only on a terminal and only without ``NO_COLOR``."""
    if os.environ.get("NO_COLOR"):
        return False
    if color is not None:
        return color
    return _isatty(stream)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


def _shorten(text: str, limit: int = _MAX_DETAIL) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TranscriptRenderer:
    """Writes events to ``stream`` as labelled lines."""

    def __init__(
        self, stream: TextIO, *, color: bool | None = None, live: bool | None = None
    ) -> None:
        self._stream = stream
        self._color = wants_color(stream, color)
        #: redraw partial transcripts in place (a terminal)
        self._live = _isatty(stream) if live is None else live
        self._partial = ""  # the partial line on screen, without styles
        self._partial_key: tuple[str, str | None] | None = None
        self._texts: dict[tuple[str, str | None], str] = {}

    def _style(self, kind: str, text: str) -> str:
        return f"{_STYLES[kind]}{text}{_RESET}" if self._color else text

    def _label(self, role: str) -> str:
        return self._style(role, _LABELS.get(role, f"{role}:"))

    def render(self, event: BidiOutputEvent) -> None:
        """Show one event (most kinds show nothing: audio, usage, ...)."""
        if isinstance(event, BidiTranscriptStreamEvent):
            self._transcript(event)
        elif isinstance(event, ToolUseStreamEvent):
            if event.is_final:
                self._line(self._style("tool", f"[tool] {event.name}({_shorten(event.arguments)})"))
        elif isinstance(event, ToolResultEvent):
            mark = "->" if event.status == "success" else f"-> {event.status}:"
            self._line(self._style("tool", f"[tool] {event.name} {mark} {_shorten(event.content)}"))
        elif isinstance(event, BidiInterruptionEvent):
            self._finish_partial(interrupted=True)
            self._line(self._style("interrupt", "[interrupted]"))
        elif isinstance(event, BidiErrorEvent):
            code = f" ({event.code})" if event.code else ""
            self._line(self._style("error", f"[error]{code} {event.message}"))
        elif isinstance(event, BidiConnectionRestartEvent):
            self._line(self._style("note", f"[reconnected: {event.reason}]"))

    def close(self) -> None:
        """End an unfinished partial line so the shell prompt starts on its own line."""
        self._finish_partial(interrupted=True)

    # transcripts ---------------------------------------------------------------------
    def _transcript(self, event: BidiTranscriptStreamEvent) -> None:
        key = (event.role, event.item_id)
        if event.is_final:
            text = event.current_transcript or event.text or self._texts.get(key, "")
            self._texts.pop(key, None)
            if self._partial_key == key:
                self._clear_partial()
                self._partial_key = None
            if text.strip():
                self._line(f"{self._label(event.role)} {text.strip()}")
            return
        text = event.current_transcript or (self._texts.get(key, "") + event.text)
        self._texts[key] = text
        if not self._live:
            return
        if self._partial_key not in (None, key):
            # another speaker's line was being drawn: keep what it said so far
            self._finish_partial(interrupted=False)
        self._partial_key = key
        self._draw_partial(event.role, text)

    def _draw_partial(self, role: str, text: str) -> None:
        width = shutil.get_terminal_size((80, 24)).columns
        label = _LABELS.get(role, f"{role}:")
        room = max(10, width - len(label) - 2)
        shown = " ".join(text.split())
        if len(shown) > room:
            shown = "…" + shown[-(room - 1) :]
        self._partial = f"{label} {shown}"
        self._write(f"{_ERASE_LINE}{self._label(role)} {shown}")

    def _clear_partial(self) -> None:
        if self._partial:
            self._write(_ERASE_LINE)
            self._partial = ""

    def _finish_partial(self, *, interrupted: bool) -> None:
        """Turn the partial on screen into a permanent line (marked when cut off)."""
        key = self._partial_key
        if key is None:
            return
        text = self._texts.pop(key, "")
        self._clear_partial()
        self._partial_key = None
        if text.strip():
            tail = "…" if interrupted else ""
            self._line(f"{self._label(key[0])} {text.strip()}{tail}")

    def _line(self, text: str) -> None:
        """Print a whole line, keeping a partial line (if any) below it."""
        redraw = self._partial_key
        self._clear_partial()
        self._write(text + "\n")
        if redraw is not None and self._live:
            self._draw_partial(redraw[0], self._texts.get(redraw, ""))

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
