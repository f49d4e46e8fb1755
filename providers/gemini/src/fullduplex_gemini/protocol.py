"""The Gemini Live wire, without I/O: every frame built and every frame read.

``LiveProtocol`` builds the client frames (``setup``, ``clientContent``,
``realtimeInput`` text, ``toolResponse``; the audio frame is a byte template in
the model, the hot path) and turns server frames into fullduplex events. It
never touches a socket or a timer, so table-driven tests feed it dicts.

What the protocol lacks and this module supplies:

- **ids**: the service names no responses or items; each response gets
  ``<connection>-r<n>``, each user utterance ``<connection>-u<n>``.
- **a response lifecycle**: a response starts at the first model part (audio,
  text, transcript or tool call) and completes at ``turnComplete``, at a
  ``toolCall`` (``stop_reason="tool_use"``; the continuation after the
  ``toolResponse`` is a new response), or at ``interrupted``.
- **one toolResponse per toolCall**: results of BLOCKING calls are held until
  every call of the batch has one; NON_BLOCKING results go alone, with their
  ``scheduling``. A cancelled call (``toolCallCancellation``) is answered by no
  one: its later result is dropped.

Facts reported for the agent (and kept for the model): ``interrupted`` becomes a
:class:`BidiInterruptionEvent` (always: the agent decides from its playback
ledger whether anything was cut); ``resumption_handle`` is the latest usable
handle; ``go_away_s`` the time left the server announced; a
``toolCallCancellation`` is one :class:`BidiToolCancelEvent` naming the calls
still owed (the agent cancels those tasks and answers none of them).
"""

from __future__ import annotations

from binascii import a2b_base64
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import orjson

from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiInterruptionEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiSpeechEvent,
    BidiToolCancelEvent,
    BidiTranscriptStreamEvent,
    BidiUsageEvent,
    StopReason,
    ToolUseStreamEvent,
)

from .config import ToolOptions
from .history import result_payload
from .schema import function_declarations
from .wire import b64decode_any, parse_duration

if TYPE_CHECKING:
    from fullduplex.audio import PcmConverter
    from fullduplex.tools import ToolSpec

#: bytes of 24 kHz mono PCM16 per millisecond
_WIRE_BYTES_PER_MS: Final = 48

#: the ``serverContent`` fields read, camelCase (as the service sends them) -> snake_case
_CONTENT_FIELDS: Final[Mapping[str, str]] = {
    "inputTranscription": "input_transcription",
    "modelTurn": "model_turn",
    "outputTranscription": "output_transcription",
    "interrupted": "interrupted",
    "generationComplete": "generation_complete",
    "turnComplete": "turn_complete",
}


def _camel_fields(value: dict[str, Any], fields: Mapping[str, str]) -> Mapping[str, Any]:
    """``value`` read with camelCase keys: itself when it has no other key.

    Otherwise (a snake_case or an unknown key is present) a copy in which each
    field is the camelCase value, or the snake_case one when that is absent or
    empty; so the common frame costs one lookup per field, not two.
    """
    if fields.keys() >= value.keys():
        return value
    get = value.get
    return {name: get(name) or get(snake) for name, snake in fields.items()}


class _Batch:
    """The BLOCKING calls of one ``toolCall``, and the responses gathered so far."""

    __slots__ = ("ids", "responses")

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids
        self.responses: dict[str, dict[str, Any]] = {}

    def complete(self) -> bool:
        return all(call_id in self.responses for call_id in self.ids)


class LiveProtocol:
    """One conversation's wire state; ``reset()`` per connection keeps the handle."""

    def __init__(
        self,
        *,
        base_setup: Mapping[str, Any],
        output_rate: int = 24000,
        output_channels: int = 1,
        tool_options: Mapping[str, ToolOptions] | None = None,
        text_input: str = "client_content",
        output_converter: Callable[[], PcmConverter] | None = None,
    ) -> None:
        self.base_setup = dict(base_setup)
        self.output_rate = output_rate
        self.output_channels = output_channels
        self.tool_options = dict(tool_options or {})
        self.text_input_mode = text_input
        self._make_converter = output_converter
        #: the latest handle the server marked resumable (kept across connections)
        self.resumption_handle: str | None = None
        self._connections = 0
        self.reset()

    def reset(self) -> None:
        """Forget the connection's state (not the resumption handle)."""
        self._connections += 1
        self.tag = f"c{self._connections}"
        self.outbox: list[dict[str, Any]] = []
        self.setup_complete = False
        self.session_id: str | None = None
        self.go_away_s: float | None = None
        self.response_id: str | None = None
        self.last_response_id: str | None = None
        self.answer_pending = False
        self._responses = 0
        self._users = 0
        self._audio_bytes = 0
        self._converter: PcmConverter | None = None
        self._out_text = ""
        self._out_final = True
        self._user_id: str | None = None
        self._user_text = ""
        self._interrupted_turn = False
        self._batches: list[_Batch] = []
        self._names: dict[str, str] = {}
        self._nonblocking: set[str] = set()
        self.cancelled: set[str] = set()
        self._answered: set[str] = set()

    # ----------------------------------------------------------------- state

    @property
    def response_active(self) -> bool:
        return self.response_id is not None

    @property
    def tools_pending(self) -> bool:
        """BLOCKING calls issued on this connection that still owe a result."""
        return any(not batch.complete() for batch in self._batches)

    def at_pause(self) -> bool:
        """Nothing streaming, no answer owed, no tool result owed: a reconnect loses nothing."""
        return not (self.response_active or self.answer_pending or self.tools_pending)

    # ------------------------------------------------------------ client frames

    def setup_message(
        self,
        system_prompt: str | None,
        tools: Sequence[ToolSpec] | None,
        *,
        handle: str | None = None,
    ) -> dict[str, Any]:
        """The ``setup`` frame: the base setup, the prompt, the tools, the handle to resume."""
        setup = dict(self.base_setup)
        if system_prompt:
            setup["systemInstruction"] = {"parts": [{"text": system_prompt}], "role": "user"}
        if tools:
            setup["tools"] = [
                {"functionDeclarations": function_declarations(tools, self.tool_options)}
            ]
        if handle is not None:
            setup["sessionResumption"] = {**setup.get("sessionResumption", {}), "handle": handle}
        return {"setup": setup}

    def text_input(self, text: str, role: str) -> None:
        """Typed text: a user turn that asks for an answer, or a model turn for context."""
        if role == "assistant":
            self.outbox.append(
                {
                    "clientContent": {
                        "turns": [{"role": "model", "parts": [{"text": text}]}],
                        "turnComplete": False,
                    }
                }
            )
            return
        if self.text_input_mode == "realtime_input":
            self.outbox.append({"realtimeInput": {"text": text}})
        else:
            self.outbox.append(
                {
                    "clientContent": {
                        "turns": [{"role": "user", "parts": [{"text": text}]}],
                        "turnComplete": True,
                    }
                }
            )
        self.answer_pending = True

    def image_input(self, data_b64: str, mime_type: str) -> None:
        """An image frame as realtime video input (at most about 1 per second)."""
        self.outbox.append({"realtimeInput": {"video": {"data": data_b64, "mimeType": mime_type}}})

    def tool_result(self, call_id: str, name: str, content: str, status: str) -> bool:
        """Queue the answer to one call; ``False`` when it must not be sent (cancelled)."""
        if call_id in self.cancelled or call_id in self._answered:
            return False
        name = self._names.get(call_id, name)
        response: dict[str, Any] = {
            "id": call_id,
            "name": name,
            "response": result_payload(content, status),
        }
        if call_id in self._nonblocking:
            option = self.tool_options.get(name)
            if option is not None and option.scheduling is not None:
                response["scheduling"] = option.scheduling
            self._answered.add(call_id)
            self.outbox.append({"toolResponse": {"functionResponses": [response]}})
            if response.get("scheduling") != "SILENT":
                self.answer_pending = True
            return True
        for batch in self._batches:
            if call_id in batch.ids:
                batch.responses[call_id] = response
                self._answered.add(call_id)
                self._send_if_complete(batch)
                return True
        # A call this connection never issued (made before a reconnect that replayed
        # history): its result goes in as ordered content, and asks for the answer.
        self._answered.add(call_id)
        self.outbox.append(
            {
                "clientContent": {
                    "turns": [{"role": "user", "parts": [{"functionResponse": response}]}],
                    "turnComplete": True,
                }
            }
        )
        self.answer_pending = True
        return True

    def _send_if_complete(self, batch: _Batch) -> None:
        if not batch.complete():
            return
        self._batches.remove(batch)
        responses = [
            batch.responses[call_id] for call_id in batch.ids if call_id in batch.responses
        ]
        if responses:
            self.outbox.append({"toolResponse": {"functionResponses": responses}})
            self.answer_pending = True

    # ------------------------------------------------------------ server frames

    def malformed_frame(self, detail: str) -> list[BidiOutputEvent]:
        return [
            BidiErrorEvent(f"the server sent a frame that is not JSON ({detail})", code="malformed")
        ]

    def handle(self, message: Any) -> list[BidiOutputEvent]:
        """The events for one server frame (every field of it: 3.x frames bundle several).

        The hot path first: a frame that is only ``serverContent`` with one
        ``modelTurn`` part of audio in canonical base64 (what the service
        streams) is read by direct subscripts and decoded in one strict
        ``a2b_base64``; any other shape or spelling (a missing key raises
        before anything changed) takes the careful walk below, which reads
        every field in both spellings and gives the same events.
        """
        if type(message) is dict and len(message) == 1:
            try:
                content = message["serverContent"]
                parts = content["modelTurn"]["parts"]
                inline = parts[0]["inlineData"]
                mime = inline["mimeType"]
                data = inline["data"]
            except (KeyError, TypeError, IndexError):
                pass  # not the audio frame
            else:
                if (
                    len(content) == 1
                    and len(parts) == 1
                    and type(data) is str
                    and type(mime) is str
                    and mime.startswith("audio/")
                ):
                    try:
                        audio = a2b_base64(data, strict_mode=True)
                    except ValueError:
                        pass  # URL-safe, unpadded or not base64: the careful path says which
                    else:
                        rid = self.response_id
                        if rid is not None and audio and self._converter is None:
                            # mid-stream at the wire rate: ``_audio`` without the call
                            self._audio_bytes += len(audio)
                            return [
                                BidiAudioStreamEvent(
                                    audio, self.output_rate, self.output_channels, "pcm16", rid, rid
                                )
                            ]
                        events: list[BidiOutputEvent] = []
                        self._audio(audio, events)
                        return events
        if not isinstance(message, dict):
            return [
                BidiErrorEvent(
                    f"the server sent {type(message).__name__}, not a JSON object", code="malformed"
                )
            ]
        events = []
        for key, value in message.items():
            if key in ("serverContent", "server_content"):
                self._server_content(value, events)
            elif key in ("toolCall", "tool_call"):
                self._tool_call(value, events)
            elif key in ("toolCallCancellation", "tool_call_cancellation"):
                self._cancellation(value, events)
            elif key in ("usageMetadata", "usage_metadata"):
                self._usage(value, events)
            elif key in ("setupComplete", "setup_complete"):
                self.setup_complete = True
                if isinstance(value, dict) and isinstance(value.get("sessionId"), str):
                    self.session_id = value["sessionId"]
            elif key in ("sessionResumptionUpdate", "session_resumption_update"):
                self._resumption(value)
            elif key in ("goAway", "go_away"):
                left = parse_duration(value.get("timeLeft") if isinstance(value, dict) else None)
                self.go_away_s = left if left is not None else 0.0
            elif key in ("voiceActivity", "voice_activity") and isinstance(value, dict):
                kind = value.get("type") or value.get("voiceActivityType")
                if kind == "ACTIVITY_START":
                    events.append(BidiSpeechEvent("started", item_id=self._user_item()))
                elif kind == "ACTIVITY_END":
                    events.append(BidiSpeechEvent("stopped", item_id=self._user_item()))
        return events

    def _resumption(self, value: Any) -> None:
        if not isinstance(value, dict):
            return
        handle = value.get("newHandle")
        if value.get("resumable") and isinstance(handle, str) and handle:
            self.resumption_handle = handle

    def _start_response(self, events: list[BidiOutputEvent]) -> str:
        rid = self.response_id
        if rid is not None:
            return rid
        self._finish_user(events)
        self._responses += 1
        rid = f"{self.tag}-r{self._responses}"
        self.response_id = rid
        self.last_response_id = rid
        self.answer_pending = False
        self._audio_bytes = 0
        self._out_text = ""
        self._out_final = False
        self._converter = self._make_converter() if self._make_converter else None
        events.append(BidiResponseStartEvent(rid))
        return rid

    def _user_item(self) -> str:
        if self._user_id is None:
            self._users += 1
            self._user_id = f"{self.tag}-u{self._users}"
            self._user_text = ""
        return self._user_id

    def _finish_user(self, events: list[BidiOutputEvent]) -> None:
        item = self._user_id
        if item is None:
            return
        self._user_id = None
        text = self._user_text.strip()
        if text:
            events.append(BidiTranscriptStreamEvent("", "user", True, text, item_id=item))

    def _server_content(self, content: Any, events: list[BidiOutputEvent]) -> None:
        if not isinstance(content, dict):
            return
        fields = _camel_fields(content, _CONTENT_FIELDS)
        transcription = fields.get("inputTranscription")
        if isinstance(transcription, dict):
            text = transcription.get("text")
            if isinstance(text, str) and text:
                item = self._user_item()
                self._user_text += text
                events.append(
                    BidiTranscriptStreamEvent(text, "user", False, self._user_text, item_id=item)
                )
        turn = fields.get("modelTurn")
        if isinstance(turn, dict):
            for part in turn.get("parts") or ():
                if isinstance(part, dict):
                    self._part(part, events)
        transcription = fields.get("outputTranscription")
        if isinstance(transcription, dict):
            text = transcription.get("text")
            if isinstance(text, str) and text:
                self._out_delta(text, events)
        if fields.get("interrupted"):
            self._interrupted(events)
        if fields.get("generationComplete"):
            self._finish_output(events)
        if fields.get("turnComplete"):
            self._turn_complete(events)

    def _part(self, part: dict[str, Any], events: list[BidiOutputEvent]) -> None:
        inline = part.get("inlineData") or part.get("inline_data")
        if isinstance(inline, dict):
            mime = str(inline.get("mimeType") or inline.get("mime_type") or "")
            data = inline.get("data")
            if not mime.startswith("audio/") or not isinstance(data, str):
                return
            try:
                audio = b64decode_any(data)
            except ValueError as exc:
                events.append(BidiErrorEvent(f"undecodable audio part: {exc}", code="malformed"))
                return
            self._audio(audio, events)
            return
        text = part.get("text")
        if isinstance(text, str) and text and not part.get("thought"):
            self._out_delta(text, events)

    def _audio(self, audio: bytes, events: list[BidiOutputEvent]) -> None:
        """Decoded model audio: it starts the response if none is streaming."""
        rid = self.response_id
        if rid is None:
            rid = self._start_response(events)
        self._audio_bytes += len(audio)
        if self._converter is not None:
            audio = self._converter.process(audio)
        if audio:
            events.append(
                BidiAudioStreamEvent(
                    audio, self.output_rate, self.output_channels, "pcm16", rid, rid
                )
            )

    def _out_delta(self, text: str, events: list[BidiOutputEvent]) -> None:
        rid = self._start_response(events)
        if self._out_final:
            return  # after generationComplete: the transcript is closed
        self._out_text += text
        events.append(
            BidiTranscriptStreamEvent(
                text, "assistant", False, self._out_text, response_id=rid, item_id=rid
            )
        )

    def _flush_audio(self, events: list[BidiOutputEvent]) -> None:
        converter, self._converter = self._converter, None
        rid = self.response_id
        if converter is None or rid is None:
            return
        tail = converter.flush()
        if tail:
            events.append(
                BidiAudioStreamEvent(
                    tail,
                    self.output_rate,
                    self.output_channels,
                    "pcm16",
                    response_id=rid,
                    item_id=rid,
                )
            )

    def _finish_output(self, events: list[BidiOutputEvent]) -> None:
        """The model is done generating: close the audio stream and the transcript."""
        rid = self.response_id
        if rid is None:
            return
        self._flush_audio(events)
        if not self._out_final:
            self._out_final = True
            if self._out_text:
                text = self._out_text.strip()
                events.append(
                    BidiTranscriptStreamEvent(
                        "", "assistant", True, text, response_id=rid, item_id=rid
                    )
                )

    def _complete(self, events: list[BidiOutputEvent], reason: StopReason) -> None:
        rid = self.response_id
        if rid is None:
            return
        self._finish_output(events)
        self.response_id = None
        events.append(BidiResponseCompleteEvent(rid, reason))

    def _interrupted(self, events: list[BidiOutputEvent]) -> None:
        rid = self.response_id or self.last_response_id
        events.append(
            BidiInterruptionEvent(
                "user_speech",
                response_id=rid,
                item_id=rid,
                audio_received_ms=self._audio_bytes // _WIRE_BYTES_PER_MS,
            )
        )
        self._interrupted_turn = True
        if self._converter is not None:
            self._converter = None  # the unplayed tail is dropped, not flushed
        self._complete(events, "interrupted")

    def _turn_complete(self, events: list[BidiOutputEvent]) -> None:
        self._complete(events, "complete")
        if not self._interrupted_turn:
            self._finish_user(events)
        self._interrupted_turn = False
        self.answer_pending = False

    def _tool_call(self, value: Any, events: list[BidiOutputEvent]) -> None:
        calls = (
            value.get("functionCalls") or value.get("function_calls")
            if isinstance(value, dict)
            else None
        )
        if not isinstance(calls, list):
            events.append(BidiErrorEvent("toolCall without functionCalls", code="malformed"))
            return
        rid = self._start_response(events)
        blocking: list[str] = []
        for index, call in enumerate(calls):
            if not isinstance(call, dict) or not isinstance(call.get("name"), str):
                events.append(BidiErrorEvent("a function call without a name", code="malformed"))
                continue
            call_id = call.get("id")
            if not isinstance(call_id, str) or not call_id:
                call_id = f"{rid}-call{index}"  # Vertex may leave ids out
            name = call["name"]
            self._names[call_id] = name
            option = self.tool_options.get(name)
            if option is not None and option.behavior == "NON_BLOCKING":
                self._nonblocking.add(call_id)
            else:
                blocking.append(call_id)
            arguments = orjson.dumps(call.get("args") or {}).decode()
            events.append(
                ToolUseStreamEvent(
                    call_id, name, arguments, arguments, True, response_id=rid, item_id=rid
                )
            )
        if blocking:
            # the model waits for these results: this response ends here, the answer
            # that uses them is a new one (NON_BLOCKING calls leave the model talking)
            self._batches.append(_Batch(blocking))
            self._complete(events, "tool_use")

    def _cancellation(self, value: Any, events: list[BidiOutputEvent]) -> None:
        ids = value.get("ids") if isinstance(value, dict) else None
        if not isinstance(ids, list):
            return
        withdrawn: list[str] = []
        for call_id in ids:
            if not isinstance(call_id, str) or call_id in self._answered:
                continue
            if call_id in self.cancelled:
                continue
            self.cancelled.add(call_id)
            withdrawn.append(call_id)
            for batch in list(self._batches):
                if call_id in batch.ids:
                    batch.ids.remove(call_id)
                    self._send_if_complete(batch)
        if withdrawn:
            events.append(BidiToolCancelEvent(tuple(withdrawn), self.last_response_id))

    def _usage(self, usage: Any, events: list[BidiOutputEvent]) -> None:
        if not isinstance(usage, dict):
            return

        def count(*names: str) -> int:
            for name in names:
                value = usage.get(name)
                if isinstance(value, int | str) and str(value).isdigit():
                    return int(value)
            return 0

        prompt = count("promptTokenCount", "prompt_token_count")
        output = count(
            "responseTokenCount",
            "candidatesTokenCount",
            "response_token_count",
            "candidates_token_count",
        )
        total = count("totalTokenCount", "total_token_count") or prompt + output
        events.append(
            BidiUsageEvent(
                prompt,
                output,
                total,
                response_id=self.response_id or self.last_response_id,
                details=dict(usage),
            )
        )
