"""Turning output events into terminal lines: role labels, partials in place, colour.

Kept apart from the IO plumbing so the formatting can be tested on its own. The
renderer writes to any text stream. On a terminal it redraws the transcript
being spoken on one line (``\\r`` and erase-line) and prints the final line
when the item completes; on a pipe or file it prints final lines only, so the
output reads as a clean log. Colour appears only on a terminal, and never when
``NO_COLOR`` is set (https://no-color.org).

With ``status`` on (the console on a terminal), the bottom line says what the
conversation is doing when no transcript is being drawn there: listening
(with how to end), user speaking, thinking, speaking, calling a tool. With
``metrics`` on, each finished turn gets a ``[metrics]`` line and the end a
``[summary]``. Hand-written escape codes rather than a terminal library: two
codes (carriage return, erase line; cursor up) are all it needs, and the
command must start fast.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from typing import TextIO

from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiConnectionRestartEvent,
    BidiErrorEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiTranscriptStreamEvent,
    BidiTurnMetricsEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)

#: ``(heard_ms, received_ms)`` of an assistant audio item, if any audio came
Heard = Callable[[str], "tuple[int, int] | None"]

#: the states the status line shows
LISTENING = "listening"
USER_SPEAKING = "user speaking"
THINKING = "thinking"
SPEAKING = "speaking"
CALLING_TOOL = "calling a tool"

_RESET = "\x1b[0m"
_STYLES = {
    "user": "\x1b[1;36m",  # bold cyan
    "assistant": "\x1b[1;32m",  # bold green
    "tool": "\x1b[33m",  # yellow
    "interrupt": "\x1b[35m",  # magenta
    "error": "\x1b[1;31m",  # bold red
    "note": "\x1b[2m",  # dim
    "status": "\x1b[2;3m",  # dim italic
}
_LABELS = {"user": "You:", "assistant": "Assistant:"}
_ERASE_LINE = "\r\x1b[K"
_LINE_UP = "\x1b[1A"
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


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.1f} s"


def metrics_line(event: BidiTurnMetricsEvent) -> str:
    """One finished turn's figures as one line (only those that apply)."""
    parts: list[str] = []
    if event.first_audio_ms is not None:
        parts.append(f"first audio {event.first_audio_ms:.0f} ms")
    if event.first_played_ms is not None:
        parts.append(f"first played {event.first_played_ms:.0f} ms")
    if event.first_text_ms is not None and event.first_audio_ms is None:
        parts.append(f"first text {event.first_text_ms:.0f} ms")
    timing = ", ".join(parts)
    figures = [f"after your input: {timing}"] if timing else []
    figures.append(f"tokens {event.input_tokens} in / {event.output_tokens} out")
    if event.tool_calls:
        figures.append(f"{event.tool_calls} tool call{'s' if event.tool_calls != 1 else ''}")
    if event.interrupted:
        figures.append("interrupted")
    return f"[metrics] turn {event.turn}: " + "; ".join(figures)


def summary_line(totals: Mapping[str, int]) -> str:
    """The conversation's totals as one line."""

    def count(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    return (
        f"[summary] {count(totals.get('turns', 0), 'turn')}, "
        f"{count(totals.get('interruptions', 0), 'interruption')}, "
        f"{count(totals.get('reconnects', 0), 'reconnect')}, "
        f"{count(totals.get('tool_calls', 0), 'tool call')}, "
        f"tokens {totals.get('input_tokens', 0)} in / {totals.get('output_tokens', 0)} out"
    )


class TranscriptRenderer:
    """Writes events to ``stream`` as labelled lines."""

    def __init__(
        self,
        stream: TextIO,
        *,
        color: bool | None = None,
        live: bool | None = None,
        status: bool = False,
        metrics: bool = False,
        heard: Heard | None = None,
        hint: str = "Ctrl-C ends",
    ) -> None:
        self._stream = stream
        self._color = wants_color(stream, color)
        #: redraw partial transcripts in place (a terminal)
        self._live = _isatty(stream) if live is None else live
        #: draw the state line at the bottom (only where lines are redrawn)
        self._status = status and self._live
        self._metrics = metrics
        self._heard = heard
        self._hint = hint
        #: what the conversation is doing now (see the module docstring)
        self.state = LISTENING
        self._tool: str | None = None
        self._status_shown = ""
        self._partial = ""  # the partial line on screen, without styles
        self._partial_key: tuple[str, str | None] | None = None
        self._texts: dict[tuple[str, str | None], str] = {}

    def _style(self, kind: str, text: str) -> str:
        return f"{_STYLES[kind]}{text}{_RESET}" if self._color else text

    def _label(self, role: str) -> str:
        return self._style(role, _LABELS.get(role, f"{role}:"))

    def render(self, event: BidiOutputEvent) -> None:
        """Show one event (most kinds show nothing: audio, usage, ...)."""
        if type(event) is BidiAudioStreamEvent:  # one per chunk: only a state change
            if self.state != SPEAKING:
                self._set_state(SPEAKING)
            return
        if isinstance(event, BidiTranscriptStreamEvent):
            if event.role == "assistant":
                self.state = SPEAKING
            self._transcript(event)
        elif isinstance(event, ToolUseStreamEvent):
            if event.is_final:
                self._tool = event.name
                self.state = CALLING_TOOL
                self._line(self._style("tool", f"[tool] {event.name}({_shorten(event.arguments)})"))
        elif isinstance(event, ToolResultEvent):
            mark = "->" if event.status == "success" else f"-> {event.status}:"
            self._tool = None
            self.state = THINKING
            self._line(self._style("tool", f"[tool] {event.name} {mark} {_shorten(event.content)}"))
        elif isinstance(event, BidiInterruptionEvent):
            self._finish_partial(interrupted=True)
            self.state = USER_SPEAKING
            self._line(self._style("interrupt", self._interruption(event)))
        elif isinstance(event, BidiErrorEvent):
            code = f" ({event.code})" if event.code else ""
            self._line(self._style("error", f"[error]{code} {event.message}"))
        elif isinstance(event, BidiConnectionRestartEvent):
            self._line(self._style("note", f"[reconnected: {event.reason}]"))
        elif isinstance(event, BidiSpeechEvent):
            self._set_state(USER_SPEAKING if event.state == "started" else THINKING)
        elif isinstance(event, BidiResponseStartEvent):
            if self.state != USER_SPEAKING:
                self._set_state(THINKING)
        elif isinstance(event, BidiResponseCompleteEvent):
            if event.stop_reason != "tool_use" and self.state != USER_SPEAKING:
                self._set_state(LISTENING)
        elif isinstance(event, BidiTurnMetricsEvent) and self._metrics:
            self._line(self._style("note", metrics_line(event)))

    def set_hint(self, hint: str) -> None:
        """Change how the listening line says to end (and redraw it)."""
        self._hint = hint
        self.render_status()

    def render_status(self) -> None:
        """Draw the status line now (the console shows it before anything happens)."""
        if self._status and self._partial_key is None:
            self._draw_status()

    def user_typed(self, text: str, *, echoed: bool) -> None:
        """The user sent ``text`` by typing it; ``echoed``: the terminal shows it already.

        On a live terminal the echoed line (typed after the status line) is
        replaced by a labelled one, so the screen reads as a conversation.
        """
        self.state = THINKING
        if not self._live:
            return
        if echoed:
            width = max(1, shutil.get_terminal_size((80, 24)).columns)
            rows = max(1, -(-(len(self._status_shown) + len(text)) // width))
            self._write((_LINE_UP + _ERASE_LINE) * rows)
            self._status_shown = ""
        self._line(f"{self._label('user')} {text}")

    def summary(self, totals: Mapping[str, int]) -> None:
        """Print the conversation's totals (with ``metrics`` on)."""
        if self._metrics:
            self._line(self._style("note", summary_line(totals)))

    def close(self) -> None:
        """End an unfinished partial line so the shell prompt starts on its own line."""
        self._finish_partial(interrupted=True)
        self._clear_partial()

    def _interruption(self, event: BidiInterruptionEvent) -> str:
        """``[interrupted]``, with how much of the answer was heard when that is known."""
        figures = self._heard(event.item_id) if self._heard and event.item_id else None
        if figures is None:
            return "[interrupted]"
        heard, received = figures
        received = max(received, event.audio_received_ms)
        if received <= 0:
            return "[interrupted]"
        return f"[interrupted: you heard {_seconds(heard)} of {_seconds(received)}]"

    # the status line -----------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        self.state = state
        if self._status and self._partial_key is None:
            self._draw_status()

    def _status_text(self) -> str:
        if self.state == CALLING_TOOL and self._tool:
            return f"[{CALLING_TOOL}: {self._tool}]"
        if self.state == LISTENING:
            return f"[{LISTENING}] {self._hint} "
        return f"[{self.state}]"

    def _draw_status(self) -> None:
        text = self._status_text()
        self._status_shown = text
        self._partial = text
        self._write(f"{_ERASE_LINE}{self._style('status', text)}")

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
        """Print a whole line, keeping a partial line (or the status line) below it."""
        redraw = self._partial_key
        self._clear_partial()
        self._write(text + "\n")
        if redraw is not None and self._live:
            self._draw_partial(redraw[0], self._texts.get(redraw, ""))
        elif self._status:
            self._draw_status()

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()
