"""One Gemini Live connection's protocol state machine, without I/O.

``LiveSession`` takes client frames and returns server frames; a generation is
queued and the kit's writer ``pump`` s it (pacing the audio). Errors are never
JSON: a refused frame sets ``close_request`` (code, reason) and the server
closes the socket with it, as the service does.

A turn, 2.5 style, one field per frame: input transcription fragments, audio
chunks (24 kHz) interleaved with output transcription fragments, then
``generationComplete``, ``usageMetadata``, ``turnComplete`` (held until the
client has had time to play the audio when ``wait_for_playback``), and a
``sessionResumptionUpdate`` with a fresh handle. With the kit's speech stack
(``speech``) the session has real ears and a voice: Silero decides where speech
starts and ends, the recogniser's words are the ``inputTranscription``, and the
answer is spoken by eSpeak NG, its ``outputTranscription`` the words the audio
says. Recognition and synthesis block, so such a session runs off the event
loop (the server sets ``offload``). A reply that calls functions
sends a ``toolCall`` and waits for the ``toolResponse`` of every BLOCKING call.
User speech (server VAD on the input audio), ``activityStart`` or
``clientContent`` during a turn cuts it: ``interrupted``, a
``toolCallCancellation`` for unanswered calls, ``turnComplete``; the history
then holds only what was sent before the cut (the service's rule).
"""

from __future__ import annotations

import collections
import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import orjson

from fullduplex_emulator.audio_buffer import InputAudioBuffer
from fullduplex_emulator.clock import Clock
from fullduplex_emulator.frames import MALFORMED, Frame
from fullduplex_emulator.responder import Reply, Responder, ToolDeclaration, Turn, TurnContext
from fullduplex_emulator.scripted import ScriptedResponder
from fullduplex_emulator.synth import encoded_chunks, speech_chunks
from fullduplex_emulator.vad import EnergyVad, VoiceActivityDetector
from fullduplex_gemini.wire import OUTPUT_MIME, b64decode_any, camel_keys, format_duration

from .setup import INVALID_ARGUMENT, Setup, SetupRefused, check_setup

if TYPE_CHECKING:
    from fullduplex_emulator.speech import SpeechStack

_RATE = re.compile(r"rate=(\d+)")
_MESSAGE_KINDS: Final = frozenset({"setup", "clientContent", "realtimeInput", "toolResponse"})
#: audio tokens per second, both ways (the service's published figure)
_TOKENS_PER_S: Final = 25
#: the rate of the answer's audio on the wire
_OUTPUT_RATE: Final = 24000
#: a frame id for "the turn ends once the client has played the audio"
_AWAIT_PLAYBACK: Final = "<await playback>"


def _frame(kind: str, message: dict[str, Any], audio_ms: int = 0) -> Frame:
    return Frame(kind, orjson.dumps(message), audio_ms)


def _content(kind: str, content: dict[str, Any], audio_ms: int = 0) -> Frame:
    return _frame(kind, {"serverContent": content}, audio_ms)


class Snapshot:
    """What a resumption handle restores: the conversation so far."""

    __slots__ = ("turns",)

    def __init__(self, turns: list[Turn]) -> None:
        self.turns = list(turns)


class LiveSession:
    """The sans-I/O side of one emulated Live connection (see the module docstring)."""

    def __init__(
        self,
        *,
        api_version: str,
        vertex: bool = False,
        responder: Responder | None = None,
        audio_chunk_ms: int = 50,
        clock: Clock,
        handles: dict[str, Snapshot],
        wait_for_playback: bool = False,
        speech: SpeechStack | None = None,
    ) -> None:
        self.api_version = api_version
        self.vertex = vertex
        #: the real voice and ears (the kit's ``[speech]`` extra), if on
        self.speech = speech
        self.responder = responder if responder is not None else ScriptedResponder(speech=speech)
        self.audio_chunk_ms = audio_chunk_ms
        self.clock = clock
        self.handles = handles
        self.wait_for_playback = wait_for_playback
        self.fail_responses = False
        #: (code, reason) once the session wants the socket closed
        self.close_request: tuple[int, str] | None = None
        self.setup: Setup | None = None
        self.resumed_from: str | None = None
        self.turns: list[Turn] = []
        self._stream: collections.deque[Frame] = collections.deque()
        self._generation = 0
        self._started: int | None = None
        self._generating = False
        self._sent_text = ""
        self._sent_audio_ms = 0
        self._first_audio_at: float | None = None
        self._turn_complete_at: float | None = None
        self._pending_calls: dict[str, str] = {}
        self._call_seq = 0
        self._user_seq = 0
        self._prompt_tokens = 0
        self._vad: VoiceActivityDetector | None = None
        self._vad_rate = 16000
        self._buffer = InputAudioBuffer()
        self._speech_start_ms: int | None = None
        self._wait_idle: list[str] = []

    # ------------------------------------------------------------ kit contract

    @property
    def idle_deadline(self) -> float | None:
        return self._turn_complete_at

    def open(self) -> list[Frame]:
        return []

    def has_pending_output(self) -> bool:
        return bool(self._stream) and self.close_request is None

    def next_response_id(self) -> str | None:
        if self._stream and self._started != self._generation:
            return f"generation-{self._generation}"
        return None

    def pump(self, max_frames: int = 64, max_audio_ms: int | None = None) -> list[Frame]:
        frames: list[Frame] = []
        audio = 0
        self._started = self._generation
        while self._stream and len(frames) < max_frames:
            frame = self._stream.popleft()
            if frame.type == _AWAIT_PLAYBACK:
                start = self._first_audio_at if self._first_audio_at is not None else self.clock()
                self._turn_complete_at = max(self.clock(), start + self._sent_audio_ms / 1000)
                break
            frames.append(frame)
            self._note_sent(frame)
            audio += frame.audio_ms
            if max_audio_ms is not None and audio >= max_audio_ms:
                break
        return frames

    def tick(self, now: float | None = None) -> list[Frame]:
        due = self._turn_complete_at
        if due is None or (now if now is not None else self.clock()) < due:
            return []
        self._turn_complete_at = None
        return self._end_turn()

    def server_error_frame(self, message: str) -> Frame:
        # The Live API has no in-band error message: errors are close frames. A
        # server error fault therefore closes the socket with 1011, as the service does.
        self.close_request = (1011, "Internal error occurred.")
        return _content("serverContent", {})

    def session_expired_frame(self, message: str) -> Frame:
        return _frame("goAway", {"goAway": {"timeLeft": "0s"}})

    def malformed_frame(self) -> Frame:
        return Frame(MALFORMED, b'{"serverContent": {"modelTurn": {"parts": [')

    # ------------------------------------------------------------ client frames

    def refuse(self, code: int, reason: str) -> list[Frame]:
        """Ask for the socket to close with ``code`` / ``reason`` (errors are close frames)."""
        if self.close_request is None:
            self.close_request = (code, reason[:123])
        self._stream.clear()
        return []

    def handle(self, message: str | bytes | dict[str, Any]) -> list[Frame]:
        if self.close_request is not None:
            return []
        if isinstance(message, str | bytes):
            try:
                message = orjson.loads(message)
            except orjson.JSONDecodeError:
                return self.refuse(1007, "Invalid JSON payload received.")
        if not isinstance(message, dict):
            return self.refuse(1007, INVALID_ARGUMENT)
        message = dict(camel_keys(message))
        kinds = [key for key in message if key in _MESSAGE_KINDS]
        unknown = [key for key in message if key not in _MESSAGE_KINDS]
        if unknown:
            return self.refuse(
                1007,
                f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.',
            )
        if len(kinds) != 1:
            return self.refuse(1007, INVALID_ARGUMENT)
        kind = kinds[0]
        body: Any = message[kind]
        if self.setup is None:
            if kind != "setup":
                return self.refuse(1007, INVALID_ARGUMENT)
            return self._on_setup(body)
        if kind == "setup":
            return self.refuse(1007, INVALID_ARGUMENT)
        if not isinstance(body, dict):
            return self.refuse(1007, INVALID_ARGUMENT)
        if kind == "realtimeInput":
            return self._on_realtime(body)
        if kind == "clientContent":
            return self._on_client_content(body)
        return self._on_tool_response(body)

    def _on_setup(self, body: Any) -> list[Frame]:
        try:
            setup = check_setup(body, self.api_version, self.vertex)
        except SetupRefused as exc:
            return self.refuse(exc.code, exc.reason)
        if setup.handle is not None:
            snapshot = self.handles.get(setup.handle)
            if snapshot is None:
                return self.refuse(1008, "BidiGenerateContent session not found.")
            self.turns = list(snapshot.turns)
            self.resumed_from = setup.handle
        self.setup = setup
        if not setup.vad_disabled:
            make = self.speech.vad if self.speech is not None else EnergyVad
            self._vad = make(setup.threshold, setup.prefix_ms, setup.silence_ms)
        frames = [_frame("setupComplete", {"setupComplete": {}})]
        if setup.resumption:
            frames.append(self._handle_update())
        return frames

    def _on_realtime(self, body: dict[str, Any]) -> list[Frame]:
        frames: list[Frame] = []
        media = body.get("audio")
        chunks = body.get("mediaChunks")
        if media is None and isinstance(chunks, list) and chunks:
            media = chunks[0]
        if isinstance(media, dict):
            frames += self._on_audio(media)
        text = body.get("text")
        if isinstance(text, str) and text:
            frames += self._barge_in()
            self.turns.append(Turn("user", id=self._user_id(), text=text))
            frames += self._generate()
        if body.get("activityStart") is not None:
            if self.setup is not None and not self.setup.vad_disabled:
                return self.refuse(1007, INVALID_ARGUMENT)
            frames += self._barge_in()
            self._speech_start_ms = self._buffer.written_ms
        if body.get("activityEnd") is not None:
            if self.setup is not None and not self.setup.vad_disabled:
                return self.refuse(1007, INVALID_ARGUMENT)
            start = (
                self._speech_start_ms
                if self._speech_start_ms is not None
                else self._buffer.start_ms
            )
            frames += self._user_audio_turn(start, self._buffer.written_ms)
        if body.get("audioStreamEnd") and self._speech_start_ms is not None:
            frames += self._user_audio_turn(self._speech_start_ms, self._buffer.written_ms)
        return frames

    def _on_audio(self, media: dict[str, Any]) -> list[Frame]:
        mime = str(media.get("mimeType", ""))
        data = media.get("data")
        if not mime.startswith("audio/pcm") or not isinstance(data, str):
            return self.refuse(1007, INVALID_ARGUMENT)
        match = _RATE.search(mime)
        rate = int(match.group(1)) if match else 16000
        try:
            audio = b64decode_any(data)
        except ValueError:
            return self.refuse(1007, "Invalid value at 'realtime_input.audio.data' (TYPE_BYTES)")
        if rate != self._vad_rate:
            self._vad_rate = rate
            self._buffer = InputAudioBuffer()
            if self._vad is not None:
                self._vad.reset(0)
        bytes_per_ms = max(1, rate * 2 // 1000)
        self._buffer.append(audio, bytes_per_ms)
        if self._vad is None:
            return []
        frames: list[Frame] = []
        samples = np.frombuffer(audio[: len(audio) // 2 * 2], dtype="<i2")
        for event in self._vad.feed(samples, rate):
            if event.kind == "started":
                self._speech_start_ms = event.ms
                if self.setup is not None and self.setup.interrupts:
                    frames += self._barge_in()
            else:
                start = self._speech_start_ms if self._speech_start_ms is not None else event.ms
                frames += self._user_audio_turn(start, event.ms)
        return frames

    def _user_audio_turn(self, start_ms: int, end_ms: int) -> list[Frame]:
        self._speech_start_ms = None
        bytes_per_ms = max(1, self._vad_rate * 2 // 1000)
        audio = self._buffer.take_span(max(start_ms, self._buffer.start_ms), end_ms, bytes_per_ms)
        duration = len(audio) // bytes_per_ms
        if duration <= 0:
            return []
        text = self.responder.hear(audio, duration, audio, self._vad_rate)
        self._prompt_tokens += duration * _TOKENS_PER_S // 1000
        self.turns.append(Turn("user", id=self._user_id(), text=text, audio_ms=duration))
        frames: list[Frame] = []
        if text and self.setup is not None and self.setup.input_transcription:
            for piece in _fragments(text):
                frames.append(
                    _content("inputTranscription", {"inputTranscription": {"text": piece}})
                )
        return frames + self._generate()

    def _on_client_content(self, body: dict[str, Any]) -> list[Frame]:
        frames = self._barge_in()
        for turn in body.get("turns") or ():
            if not isinstance(turn, dict) or turn.get("role", "user") not in ("user", "model"):
                return self.refuse(1007, INVALID_ARGUMENT)
            self._add_content(turn)
        if body.get("turnComplete"):
            frames += self._generate()
        return frames

    def _add_content(self, turn: dict[str, Any]) -> None:
        role = turn.get("role", "user")
        for part in turn.get("parts") or ():
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                text = part["text"]
                if role == "model":
                    self.turns.append(Turn("assistant", text=text))
                else:
                    self.turns.append(Turn("user", id=self._user_id(), text=text))
            elif isinstance(part.get("functionCall"), dict):
                call = part["functionCall"]
                self.turns.append(
                    Turn(
                        "tool_call",
                        name=call.get("name"),
                        call_id=call.get("id"),
                        arguments=orjson.dumps(call.get("args") or {}).decode(),
                    )
                )
            elif isinstance(part.get("functionResponse"), dict):
                response = part["functionResponse"]
                self.turns.append(_result_turn(response))

    def _on_tool_response(self, body: dict[str, Any]) -> list[Frame]:
        responses = body.get("functionResponses")
        if not isinstance(responses, list) or not responses:
            return self.refuse(1007, INVALID_ARGUMENT)
        frames: list[Frame] = []
        trigger = False
        for response in responses:
            if not isinstance(response, dict):
                return self.refuse(1007, INVALID_ARGUMENT)
            call_id = response.get("id")
            if not self.vertex and not isinstance(call_id, str):
                return self.refuse(1007, INVALID_ARGUMENT)
            name = self._pending_calls.pop(str(call_id), None)
            if name is None:
                return self.refuse(1008, "Requested entity was not found.")
            if response.get("name") != name:
                return self.refuse(1007, INVALID_ARGUMENT)
            self.turns.append(_result_turn(response))
            inner = response.get("response")
            scheduling = response.get("scheduling") or (
                inner.get("scheduling") if isinstance(inner, dict) else None
            )
            if self._behavior(name) == "NON_BLOCKING":
                if scheduling == "INTERRUPT":
                    frames += self._barge_in()
                    trigger = True
                elif scheduling != "SILENT":
                    if self._generating:
                        self._wait_idle.append(str(call_id))
                    else:
                        trigger = True
            elif not any(self._behavior(n) != "NON_BLOCKING" for n in self._pending_calls.values()):
                trigger = True
        if trigger:
            frames += self._generate()
        return frames

    # ------------------------------------------------------------ generation

    def _behavior(self, name: str) -> str:
        for declaration in self.setup.declarations if self.setup else ():
            if declaration.get("name") == name:
                return str(declaration.get("behavior", "BLOCKING"))
        return "BLOCKING"

    def _user_id(self) -> str:
        self._user_seq += 1
        return f"turn-{self._user_seq}"

    def _context(self) -> TurnContext:
        setup = self.setup
        declarations = [
            ToolDeclaration(
                str(d["name"]),
                str(d.get("description", "")),
                _json_schema(d.get("parameters") or {}),
            )
            for d in (setup.declarations if setup else ())
        ]
        return TurnContext(
            items=[],
            tools=list(setup.declarations if setup else ()),
            instructions=setup.instructions if setup else "",
            turns=list(self.turns),
            declarations=declarations,
        )

    def _generate(self) -> list[Frame]:
        """Start the model's answer to the conversation as it stands (queued for pump)."""
        if self.fail_responses:
            return self.refuse(1011, "Internal error occurred.")
        reply: Reply = self.responder.respond(self._context())
        self._generation += 1
        self._generating = True
        self._sent_text = ""
        self._sent_audio_ms = 0
        self._first_audio_at = None
        stream = self._stream
        if reply.text:
            chunks = self._voice(reply.text)
            words = _fragments(reply.text)
            per_chunk = max(1, -(-len(chunks) // max(1, len(words))))
            for index, chunk in enumerate(chunks):
                if index % per_chunk == 0 and words and self._transcribes_output():
                    piece = words.pop(0)
                    stream.append(
                        _content("outputTranscription", {"outputTranscription": {"text": piece}})
                    )
                data = b'{"serverContent":{"modelTurn":{"parts":[{"inlineData":{"mimeType":"'
                data += OUTPUT_MIME.encode() + b'","data":"' + chunk + b'"}}]}}}'
                stream.append(Frame("modelTurn", data, self.audio_chunk_ms))
            if words and self._transcribes_output():
                stream.append(
                    _content(
                        "outputTranscription", {"outputTranscription": {"text": "".join(words)}}
                    )
                )
        calls = []
        for call in reply.function_calls:
            self._call_seq += 1
            call_id = f"function-call-{self._call_seq}{secrets.randbelow(10**12):012d}"
            self._pending_calls[call_id] = call.name
            try:
                args = orjson.loads(call.arguments or "{}")
            except orjson.JSONDecodeError:
                args = {}
            calls.append({"id": call_id, "name": call.name, "args": args})
            self.turns.append(
                Turn("tool_call", name=call.name, call_id=call_id, arguments=call.arguments)
            )
        if calls:
            stream.append(_frame("toolCall", {"toolCall": {"functionCalls": calls}}))
            if any(self._behavior(c["name"]) != "NON_BLOCKING" for c in calls):
                return []  # generation pauses until the blocking calls are answered
        stream.append(_content("generationComplete", {"generationComplete": True}))
        stream.append(_frame("usageMetadata", {"usageMetadata": self._usage(reply.text)}))
        if self.wait_for_playback:
            stream.append(Frame(_AWAIT_PLAYBACK, b""))
        else:
            stream.append(Frame("turnComplete", b""))  # expanded by _note_sent
        return []

    def _voice(self, text: str) -> tuple[bytes, ...]:
        """``text`` spoken at 24 kHz, in base64 chunks: the real voice when there is one."""
        if self.speech is None:
            return speech_chunks(text, "pcm16", _OUTPUT_RATE, self.audio_chunk_ms)
        voice = self.setup.voice if self.setup is not None else None
        pcm = self.speech.speak(text, _OUTPUT_RATE, voice)
        return encoded_chunks(pcm, "pcm16", _OUTPUT_RATE, self.audio_chunk_ms)[1]

    def _transcribes_output(self) -> bool:
        return self.setup is not None and self.setup.output_transcription

    def _usage(self, text: str) -> dict[str, Any]:
        output = self._sent_audio_ms * _TOKENS_PER_S // 1000 + len(text) // 4
        prompt = self._prompt_tokens + sum(len(t.text or "") // 4 for t in self.turns)
        return {
            "promptTokenCount": prompt,
            "responseTokenCount": output,
            "totalTokenCount": prompt + output,
            "responseTokensDetails": [{"modality": "AUDIO", "tokenCount": output}],
        }

    def _note_sent(self, frame: Frame) -> None:
        if frame.type == "modelTurn":
            if self._first_audio_at is None:
                self._first_audio_at = self.clock()
            self._sent_audio_ms += frame.audio_ms
        elif frame.type == "outputTranscription":
            self._sent_text += frame.event["serverContent"]["outputTranscription"]["text"]
        elif frame.type == "turnComplete":
            ended = self._end_turn()
            frame.data = ended[0].data
            # the resumption update rides right behind the turnComplete
            for extra in reversed(ended[1:]):
                self._stream.appendleft(extra)

    def _end_turn(self) -> list[Frame]:
        """``turnComplete`` (and a fresh handle): the turn's answer joins the history."""
        if self._sent_text or self._sent_audio_ms:
            self.turns.append(Turn("assistant", text=self._sent_text.strip() or None))
        self._generating = False
        self._sent_text = ""
        self._sent_audio_ms = 0
        frames = [_content("turnComplete", {"turnComplete": True})]
        if self.setup is not None and self.setup.resumption and not self._pending_calls:
            frames.append(self._handle_update())
        if self._wait_idle:
            self._wait_idle.clear()
            frames += self._generate()
        return frames

    def _barge_in(self) -> list[Frame]:
        """User activity during a turn: cut it (``interrupted``), cancel unanswered calls."""
        if not self._generating:
            return []
        self._stream.clear()
        self._turn_complete_at = None
        frames = [_content("interrupted", {"interrupted": True})]
        blocking = [cid for cid, name in self._pending_calls.items()]
        if blocking:
            frames.append(
                _frame("toolCallCancellation", {"toolCallCancellation": {"ids": blocking}})
            )
            for call_id in blocking:
                del self._pending_calls[call_id]
        if self._sent_text or self._sent_audio_ms:
            # only what was sent before the cut stays in the history
            self.turns.append(Turn("assistant", text=self._sent_text.strip() or None))
        self._generating = False
        self._sent_text = ""
        self._sent_audio_ms = 0
        frames.append(_content("turnComplete", {"turnComplete": True}))
        return frames

    def _handle_update(self) -> Frame:
        handle = secrets.token_urlsafe(24)
        self.handles[handle] = Snapshot(self.turns)
        return _frame(
            "sessionResumptionUpdate",
            {"sessionResumptionUpdate": {"newHandle": handle, "resumable": True}},
        )

    def go_away_frame(self, seconds: float) -> Frame:
        """The notice that the connection ends in ``seconds``."""
        return _frame("goAway", {"goAway": {"timeLeft": format_duration(seconds)}})


def _fragments(text: str) -> list[str]:
    """Transcript pieces as the service sends them: words with their leading space."""
    return re.findall(r"\s*\S+", text) or [text]


def _result_turn(response: dict[str, Any]) -> Turn:
    inner = response.get("response")
    if isinstance(inner, dict):
        inner = {k: v for k, v in inner.items() if k != "scheduling"}
        value = inner.get("output", inner.get("error", inner))
    else:
        value = inner
    output = value if isinstance(value, str) else orjson.dumps(value).decode()
    return Turn("tool_result", call_id=str(response.get("id")), output=output)


def _json_schema(schema: Any) -> dict[str, Any]:
    """An OpenAPI-subset schema as JSON Schema (lower-case types), for the kit's responders."""
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out[key] = value.lower()
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: _json_schema(sub) for name, sub in value.items()}
        elif key == "items":
            out[key] = _json_schema(value)
        else:
            out[key] = value
    return out


#: what makes a session for the server (tests may wrap it)
SessionFactory = Callable[..., LiveSession]
