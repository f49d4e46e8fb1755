"""``BidiTextIO``: type to the model on standard input, read the conversation on standard output.

Input never blocks the event loop. On a pipe or a terminal the loop watches
the file descriptor (``add_reader``) and reads only what is there; where that
is impossible (a regular file, an event loop without ``add_reader``, a stream
without a descriptor) a daemon thread reads lines and hands them over with
``call_soon_threadsafe``. End of input returns ``None``, after which the agent
ends the conversation once the answer to the last line is complete.

The input and output of one :class:`BidiTextIO` share a :class:`Console`:
the output's renderer learns of each typed line, so on a terminal the echoed
line becomes a ``You:`` line and the status line moves on to "thinking".
With ``json_input``, a line that starts with ``{`` is an event's dict form
(``fullduplex chat --jsonl``); a malformed one is reported and skipped.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import sys
import threading
from typing import TYPE_CHECKING, TextIO, cast

from fullduplex.errors import EventError
from fullduplex.events import (
    INPUT_EVENT_TYPES,
    BidiInputEvent,
    BidiOutputEvent,
    BidiTextInputEvent,
    event_from_dict,
)

from .render import TranscriptRenderer

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent


_INPUT_TYPES = tuple(INPUT_EVENT_TYPES)

#: the status line's hint while the user types on a terminal
TYPING_HINT = "type and press Enter; Ctrl-D or Ctrl-C ends"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Console:
    """What a text input and output of one :class:`BidiTextIO` share: the renderer."""

    def __init__(self) -> None:
        self.renderer: TranscriptRenderer | None = None
        #: the input is a terminal, which echoes what is typed
        self.input_echoes = False

    def input_started(self, *, echoes: bool) -> None:
        """The text input began reading (after the output started): update the hint."""
        self.input_echoes = echoes
        if echoes and self.renderer is not None:
            self.renderer.set_hint(TYPING_HINT)

    def typed(self, text: str) -> None:
        if self.renderer is not None:
            self.renderer.user_typed(text, echoed=self.input_echoes)

    def report(self, message: str) -> None:
        """A problem with the input, said where the conversation is shown."""
        print(f"fullduplex: {message}", file=sys.stderr, flush=True)


class TextInput:
    """A :class:`~fullduplex.io.BidiInput` of typed lines, one text event per non-empty line."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        console: Console | None = None,
        json_input: bool = False,
    ) -> None:
        self._console = console
        self._json_input = json_input
        self._given = stream
        self._queue: asyncio.Queue[str | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._fd: int | None = None
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._finished = False
        self._thread: threading.Thread | None = None

    async def start(self, agent: BidiAgent) -> None:
        stream = self._given if self._given is not None else sys.stdin
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._finished = False
        # a half line left from an earlier run belongs to that run
        self._pending = ""
        self._decoder.reset()
        if stream is None or stream.closed:
            self._queue.put_nowait(None)
            return
        if self._console is not None:
            self._console.input_started(echoes=_isatty(stream))
        if not self._watch(stream):
            self._thread = threading.Thread(
                target=self._read_lines, args=(stream,), name="fullduplex-stdin", daemon=True
            )
            self._thread.start()

    def _watch(self, stream: TextIO) -> bool:
        """Read ``stream``'s descriptor from the loop when it is a pipe/tty (True if so)."""
        loop = self._loop
        if loop is None:
            return False
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            return False
        try:
            loop.add_reader(fd, self._readable, fd)
        except (NotImplementedError, PermissionError, OSError, ValueError):
            return False
        self._fd = fd
        return True

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._unwatch()
            self._push_text(self._decoder.decode(b"", final=True), final=True)
            return
        self._push_text(self._decoder.decode(data), final=False)

    def _push_text(self, text: str, *, final: bool) -> None:
        queue = self._queue
        if queue is None:
            return
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            queue.put_nowait(line)
        if final:
            if self._pending:
                queue.put_nowait(self._pending)
                self._pending = ""
            queue.put_nowait(None)

    def _read_lines(self, stream: TextIO) -> None:
        """Thread fallback: blocking reads, handed to the loop."""
        loop = self._loop
        while True:
            try:
                line = stream.readline()
            except (OSError, ValueError):
                line = ""
            item = line.rstrip("\n") if line else None
            if loop is None:
                return
            try:
                loop.call_soon_threadsafe(self._put, item)
            except RuntimeError:  # the loop is closed
                return
            if item is None:
                return

    def _put(self, item: str | None) -> None:
        if self._queue is not None:
            self._queue.put_nowait(item)

    def _unwatch(self) -> None:
        if self._fd is not None and self._loop is not None:
            self._loop.remove_reader(self._fd)
        self._fd = None

    async def __call__(self) -> BidiInputEvent | None:
        queue = self._queue
        if queue is None:
            return None
        while not self._finished:
            line = await queue.get()
            if line is None:
                self._finished = True
                break
            text = line.strip()
            if not text:
                continue
            if self._json_input and text.startswith("{"):
                event = self._event(text)
                if event is not None:
                    return event
                continue
            if self._console is not None:
                self._console.typed(text)
            return BidiTextInputEvent(text)
        return None

    def _event(self, text: str) -> BidiInputEvent | None:
        """An input event from its JSON form, or None (said on stderr) when malformed."""
        try:
            data = json.loads(text)
            event = event_from_dict(data)
        except (ValueError, EventError) as exc:
            self._report(f"input line skipped: not an input event ({exc})")
            return None
        if not isinstance(event, _INPUT_TYPES):
            self._report(f"input line skipped: {event.type!r} is an output event")
            return None
        if isinstance(event, BidiTextInputEvent) and self._console is not None:
            self._console.typed(event.text)
        return cast("BidiInputEvent", event)

    def _report(self, message: str) -> None:
        (self._console or Console()).report(message)

    async def stop(self) -> None:
        self._unwatch()
        self._finished = True
        if self._queue is not None:
            self._queue.put_nowait(None)


class TextOutput:
    """A :class:`~fullduplex.io.BidiOutput` that prints the conversation.

    On a terminal it also keeps a status line at the bottom; with ``metrics``
    it prints each turn's figures and, at the end, the agent's totals.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        color: bool | None = None,
        console: Console | None = None,
        metrics: bool = False,
    ) -> None:
        self._given = stream
        self._color = color
        self._console = console
        self._metrics = metrics
        self._agent: BidiAgent | None = None
        self._renderer: TranscriptRenderer | None = None

    async def start(self, agent: BidiAgent) -> None:
        stream = self._given if self._given is not None else sys.stdout
        self._agent = agent
        playback = getattr(agent, "playback", None)

        def heard(item_id: str) -> tuple[int, int] | None:
            if playback is None:
                return None
            return playback.heard_ms(item_id), int(playback.received_ms(item_id))

        typing = self._console is not None and self._console.input_echoes
        hint = TYPING_HINT if typing else "Ctrl-C ends"
        self._renderer = TranscriptRenderer(
            stream, color=self._color, status=True, metrics=self._metrics, heard=heard, hint=hint
        )
        if self._console is not None:
            self._console.renderer = self._renderer
        self._renderer.render_status()

    async def __call__(self, event: BidiOutputEvent) -> None:
        if self._renderer is not None:
            self._renderer.render(event)

    async def stop(self) -> None:
        renderer, self._renderer = self._renderer, None
        if self._console is not None:
            self._console.renderer = None
        if renderer is None:
            return
        metrics = getattr(self._agent, "metrics", None)
        if metrics is not None:
            renderer.summary(metrics.totals.to_dict())
        renderer.close()


class BidiTextIO:
    """Text input from standard input and a readable transcript on standard output.

    ``input_stream`` / ``output_stream`` replace stdin / stdout; ``color``
    forces colour on or off (``None``: only on a terminal; ``NO_COLOR`` always
    turns it off).
    """

    def __init__(
        self,
        input_stream: TextIO | None = None,
        output_stream: TextIO | None = None,
        *,
        color: bool | None = None,
        metrics: bool = False,
        json_input: bool = False,
    ) -> None:
        if color not in (None, True, False):
            from fullduplex.errors import ConfigurationError

            raise ConfigurationError(f"color: expected True, False or None, got {color!r}")
        self._input_stream = input_stream
        self._output_stream = output_stream
        self._color = color
        self._metrics = bool(metrics)
        self._json_input = bool(json_input)
        self._console = Console()

    def input(self) -> TextInput:
        """Lines typed on standard input, as text input events."""
        return TextInput(self._input_stream, console=self._console, json_input=self._json_input)

    def output(self) -> TextOutput:
        """The conversation printed on standard output."""
        return TextOutput(
            self._output_stream, color=self._color, console=self._console, metrics=self._metrics
        )
