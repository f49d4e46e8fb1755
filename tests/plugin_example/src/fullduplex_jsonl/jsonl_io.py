"""``BidiJsonlIO``: replay what the user says from a text file, log the conversation.

The input sends each non-empty line of ``input_path`` as the user's text, then
ends (the agent finishes once the last answer is complete). The output writes
every event as one JSON object per line to ``output_path``, audio left out
unless ``include_audio`` is set. File work runs in worker threads: an IO
channel must never block the event loop.
"""

from __future__ import annotations

import asyncio
import collections
import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from fullduplex.errors import ConfigurationError
from fullduplex.events import BidiAudioStreamEvent, BidiOutputEvent, BidiTextInputEvent

if TYPE_CHECKING:
    from fullduplex.agent import BidiAgent


class JsonlInput:
    """A ``BidiInput``: one text event per non-empty line of a file, then ``None``."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lines: collections.deque[str] = collections.deque()

    async def start(self, agent: BidiAgent) -> None:
        text = await asyncio.to_thread(self._path.read_text, encoding="utf-8")
        self._lines = collections.deque(line.strip() for line in text.splitlines())

    async def __call__(self) -> BidiTextInputEvent | None:
        while self._lines:
            line = self._lines.popleft()
            if line:
                return BidiTextInputEvent(line)
        return None  # the input is finished

    async def stop(self) -> None:
        self._lines.clear()


class JsonlOutput:
    """A ``BidiOutput``: each event as a JSON line (``event.to_dict()``)."""

    def __init__(self, path: Path, *, include_audio: bool) -> None:
        self._path = path
        self._include_audio = include_audio
        self._file: TextIO | None = None

    async def start(self, agent: BidiAgent) -> None:
        self._file = await asyncio.to_thread(self._path.open, "w", encoding="utf-8")

    async def __call__(self, event: BidiOutputEvent) -> None:
        if self._file is None:
            return
        if isinstance(event, BidiAudioStreamEvent) and not self._include_audio:
            return  # the hot path: skip audio before any work
        line = json.dumps(event.to_dict(), ensure_ascii=False) + "\n"
        await asyncio.to_thread(self._write, self._file, line)

    @staticmethod
    def _write(file: TextIO, line: str) -> None:
        file.write(line)
        file.flush()

    async def stop(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            await asyncio.to_thread(file.close)


class BidiJsonlIO:
    """A script of user lines in, a JSON-lines log out; use either side or both."""

    def __init__(
        self,
        input_path: str | Path | None = None,
        output_path: str | Path | None = None,
        *,
        include_audio: bool = False,
    ) -> None:
        self.input_path = Path(input_path) if input_path is not None else None
        self.output_path = Path(output_path) if output_path is not None else None
        self.include_audio = include_audio

    def input(self) -> JsonlInput:
        if self.input_path is None:
            raise ConfigurationError("input_path: BidiJsonlIO.input() needs a file of lines")
        return JsonlInput(self.input_path)

    def output(self) -> JsonlOutput:
        if self.output_path is None:
            raise ConfigurationError("output_path: BidiJsonlIO.output() needs a file to write")
        return JsonlOutput(self.output_path, include_audio=self.include_audio)
