"""The receive hot path of the Gemini Live protocol reads the same as the careful path.

``LiveProtocol.handle`` takes a shortcut for the common audio frame (only
``serverContent``, one ``modelTurn`` part of canonical base64) and
``b64decode_any`` one for canonical base64; these tests pin that every
shortcut gives exactly what the general path gives, for every spelling the
general path accepts (snake_case keys, URL-safe or unpadded base64, extra
fields) and for what it rejects.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiErrorEvent,
    BidiOutputEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
)
from fullduplex_gemini.protocol import LiveProtocol
from fullduplex_gemini.wire import _b64decode_lenient, b64decode_any

AUDIO = bytes(range(256)) * 3 + b"\x01\x02"  # 770 bytes: base64 with one "=" of padding
STANDARD = base64.b64encode(AUDIO).decode()
URLSAFE = base64.urlsafe_b64encode(AUDIO).decode().rstrip("=")


def audio_frame(data: Any, *, snake: bool = False, mime: Any = "audio/pcm;rate=24000") -> Any:
    inline = {"mime_type" if snake else "mimeType": mime, "data": data}
    part = {"inline_data" if snake else "inlineData": inline}
    turn = {"parts": [part]}
    return {"server_content" if snake else "serverContent": {"modelTurn": turn}}


def general(frame: Any) -> Any:
    """``frame`` with unknown fields added, so ``handle`` cannot take the shortcut."""
    if not isinstance(frame, dict):
        return frame
    out = dict(frame)
    for key in ("serverContent", "server_content"):
        if isinstance(out.get(key), dict):
            out[key] = {**out[key], "someFutureField": True}
    out["someFutureFrameField"] = {}
    return out


def run(frames: list[Any], *, careful: bool) -> list[BidiOutputEvent]:
    proto = LiveProtocol(base_setup={})
    events: list[BidiOutputEvent] = []
    for frame in frames:
        events.extend(proto.handle(general(frame) if careful else frame))
    return events


@pytest.mark.parametrize(
    ("frame", "audio"),
    [
        (audio_frame(STANDARD), AUDIO),
        (audio_frame(STANDARD, snake=True), AUDIO),
        (audio_frame(URLSAFE), AUDIO),
        (audio_frame(f" {STANDARD}\n"), AUDIO),
        (audio_frame(STANDARD.rstrip("=")), AUDIO),
        (audio_frame(""), b""),
    ],
    ids=["standard", "snake_case", "urlsafe_unpadded", "whitespace", "unpadded", "empty"],
)
def test_every_spelling_of_an_audio_frame_decodes_to_the_same_audio(
    frame: Any, audio: bytes
) -> None:
    for careful in (False, True):
        events = run([frame], careful=careful)
        assert isinstance(events[0], BidiResponseStartEvent)
        chunks = [e.audio for e in events if isinstance(e, BidiAudioStreamEvent)]
        assert b"".join(chunks) == audio
        if audio:
            (chunk,) = [e for e in events if isinstance(e, BidiAudioStreamEvent)]
            assert chunk.response_id == chunk.item_id == events[0].response_id


@pytest.mark.parametrize("data", ["!!", "AA==AA==", "A", "é", 12, None])
def test_an_undecodable_or_missing_audio_part_is_reported_the_same_on_both_paths(
    data: Any,
) -> None:
    fast = run([audio_frame(data)], careful=False)
    careful = run([audio_frame(data)], careful=True)
    assert fast == careful
    if isinstance(data, str):
        (error,) = fast
        assert isinstance(error, BidiErrorEvent)
        assert error.code == "malformed"
        assert "undecodable audio part" in error.message
    else:
        assert fast == []


def test_a_frame_bundling_audio_and_turn_complete_is_read_whole() -> None:
    frame = {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": {"mimeType": "audio/pcm", "data": STANDARD}}]},
            "turnComplete": True,
        }
    }
    events = run([frame], careful=False)
    assert [type(e) for e in events] == [
        BidiResponseStartEvent,
        BidiAudioStreamEvent,
        BidiResponseCompleteEvent,
    ]
    snake = {
        "server_content": {"model_turn": frame["serverContent"]["modelTurn"], "turn_complete": 1}
    }
    assert run([snake], careful=False) == events


def test_a_falsy_camel_field_falls_back_to_its_snake_spelling() -> None:
    """The rule of the careful path: the camelCase value, or the snake_case one if empty."""
    part = {"inlineData": {"mimeType": "audio/pcm", "data": STANDARD}}
    frame = {"serverContent": {"modelTurn": {}, "model_turn": {"parts": [part]}}}
    events = run([frame], careful=False)
    assert [e.audio for e in events if isinstance(e, BidiAudioStreamEvent)] == [AUDIO]


json_scalars = st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=6)
b64_data = st.sampled_from(
    [STANDARD, URLSAFE, STANDARD.rstrip("="), "AAAA", "AAE=", "AAE", "!!", "", " QQ== "]
)
inline_data = st.fixed_dictionaries(
    {},
    optional={
        "mimeType": st.sampled_from(["audio/pcm;rate=24000", "audio/pcm", "text/plain"])
        | json_scalars,
        "mime_type": st.sampled_from(["audio/pcm", "image/png"]),
        "data": b64_data | json_scalars,
    },
)
part = st.fixed_dictionaries(
    {},
    optional={
        "inlineData": inline_data | json_scalars,
        "inline_data": inline_data,
        "text": st.text(max_size=6) | json_scalars,
        "thought": st.booleans(),
    },
)
turn = st.fixed_dictionaries({}, optional={"parts": st.lists(part | json_scalars, max_size=3)})
content = st.fixed_dictionaries(
    {},
    optional={
        "modelTurn": turn | json_scalars,
        "model_turn": turn,
        "outputTranscription": st.fixed_dictionaries({"text": st.text(max_size=6)}),
        "input_transcription": st.fixed_dictionaries({"text": st.text(max_size=6)}),
        "interrupted": st.booleans(),
        "generationComplete": st.booleans(),
        "turn_complete": st.booleans(),
    },
)
frame = st.one_of(
    st.fixed_dictionaries({"serverContent": content | json_scalars}),
    st.fixed_dictionaries({"server_content": content}),
    json_scalars,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(frame, max_size=6))
def test_the_shortcut_and_the_careful_path_give_the_same_events(frames: list[Any]) -> None:
    assert run(frames, careful=False) == run(frames, careful=True)


def test_strict_decoding_agrees_with_the_careful_decoder_on_every_short_string() -> None:
    """Every string of up to 6 characters from the characters that matter."""
    for length in range(7):
        for chars in itertools.product("A/+=-_ é", repeat=length) if length < 6 else ():
            text = "".join(chars)
            assert _outcome(b64decode_any, text) == _outcome(_b64decode_lenient, text), text
    for text in ("QUJD", "QUI=", "QQ==", "QUJDRA", "QUJDRA==", "-_-_", "+/+/", "QQ==\n"):
        assert _outcome(b64decode_any, text) == _outcome(_b64decode_lenient, text), text
        assert _outcome(b64decode_any, text.encode()) == _outcome(_b64decode_lenient, text)


def _outcome(decode: Any, text: str | bytes) -> bytes | str:
    try:
        result: bytes = decode(text)
    except ValueError:
        return "error"
    return result
