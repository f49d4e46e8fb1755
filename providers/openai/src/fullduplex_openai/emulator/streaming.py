"""A response's frames as they stream, and how a response ends.

``stream`` yields every frame of a response after ``response.created``: the
output items (audio with its transcript, text, function calls), their closing
events, then ``response.done`` and ``rate_limits.updated``. It updates the run
as it goes, so ``cancel`` (barge-in, ``response.cancel``) can close the item
in flight describing exactly what was sent of it. Audio deltas are built from
byte templates (never dicts) because they are the emulator's hot path.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Iterator

from fullduplex_emulator.frames import Frame
from fullduplex_emulator.responder import FunctionCall

from . import synth
from .ids import new_call_id, new_id
from .state import OUTPUT_AUDIO_TOKENS_PER_S, Json, ResponseRun, SessionState, split_words

_INJECTED_FAILURE: Json = {
    "type": "failed",
    "error": {
        "type": "server_error",
        "code": "server_error",
        "message": "The server had an error while processing your request "
        "(injected by the emulator's fault settings).",
    },
}


def _pieces(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def response_object(
    state: SessionState,
    run: ResponseRun,
    status: str,
    details: Json | None = None,
    final: bool = False,
) -> Json:
    """The ``response`` object of ``response.created`` / ``response.done``."""
    usage: Json | None = None
    if final:
        input_tokens = run.input_tokens + run.input_audio_tokens
        output_tokens = math.ceil(run.output_tokens)
        usage = {
            "total_tokens": input_tokens + output_tokens,
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_token_details": {
                "text_tokens": run.input_tokens,
                "audio_tokens": run.input_audio_tokens,
                "image_tokens": 0,
                "cached_tokens": 0,
                "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
            },
            "output_token_details": {
                "text_tokens": run.output_text_tokens,
                "audio_tokens": output_tokens - run.output_text_tokens,
            },
        }
    return {
        "object": "realtime.response",
        "id": run.id,
        "status": status,
        "status_details": details,
        "output": run.output if final else [],
        "conversation_id": state.conversation_id if run.in_conversation else None,
        "output_modalities": run.settings["output_modalities"],
        "max_output_tokens": run.settings["max_output_tokens"],
        "audio": {"output": {"format": run.settings["format"], "voice": run.settings["voice"]}},
        "usage": usage,
        "metadata": run.settings["metadata"],
    }


def stream(state: SessionState, run: ResponseRun) -> Generator[Frame, None, None]:
    """Every frame of a response after ``response.created``, updating ``run`` as it goes."""
    if state.fail_responses:
        yield from finish(state, run, "failed", _INJECTED_FAILURE)
        return
    if run.reply.text or not run.reply.function_calls:
        if run.settings["output_modalities"] == ["text"]:
            yield from _stream_text(state, run, run.reply.text)
        else:
            yield from _stream_audio(state, run, run.reply.text or "Okay.")
        if run.over_budget:
            yield from _end_incomplete(state, run)
            return
    for call in run.reply.function_calls:
        yield from _stream_call(state, run, call)
        if run.over_budget:
            yield from _end_incomplete(state, run)
            return
    yield from finish(state, run, "completed", None)


def _end_incomplete(state: SessionState, run: ResponseRun) -> Iterator[Frame]:
    yield from close_item(state, run, "incomplete")
    yield from finish(
        state, run, "incomplete", {"type": "incomplete", "reason": "max_output_tokens"}
    )


def _open_item(state: SessionState, run: ResponseRun, item: Json) -> Iterator[Frame]:
    run.output.append(item)
    run.current = item
    run.sent_text = ""
    output_index = len(run.output) - 1
    yield state.frame(
        "response.output_item.added", response_id=run.id, output_index=output_index, item=item
    )
    if run.in_conversation:
        previous = state.conversation.insert(item)
        yield state.frame("conversation.item.added", item=item, previous_item_id=previous)


def _open_message(
    state: SessionState, run: ResponseRun, item_id: str, part: Json
) -> Generator[Frame, None, int]:
    """Open an assistant message and its one content part; return its output index.

    Audio and text replies differ only in the part they announce and in the
    deltas that follow, so both open the item through here.
    """
    item: Json = {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "in_progress",
        "role": "assistant",
        "content": [],
    }
    yield from _open_item(state, run, item)
    output_index = len(run.output) - 1
    run.part_open = True
    # From here on the item has its (growing) part, as the service's does: a client may
    # retrieve it or truncate its audio while it still streams.
    if part["type"] == "audio":
        item["content"] = [{"type": "output_audio", "transcript": ""}]
    else:
        item["content"] = [{"type": "output_text", "text": ""}]
    yield state.frame(
        "response.content_part.added",
        response_id=run.id,
        item_id=item_id,
        output_index=output_index,
        content_index=0,
        part=part,
    )
    return output_index


def _count_sent(run: ResponseRun, piece: str) -> None:
    """Account one streamed text piece (a word or an argument fragment) to the run."""
    run.sent_text += piece
    run.output_text_tokens += 1
    run.output_tokens += 1


def _grow_part(state: SessionState, run: ResponseRun, piece: str) -> None:
    """Add a streamed word to the open message's part, unless a truncate deleted its transcript."""
    item = run.current
    if item is None or item["id"] in state.truncated_items:
        return
    part = item["content"][0]
    key = "transcript" if part["type"] == "output_audio" else "text"
    part[key] += piece


def _transcript_delta(
    state: SessionState, run: ResponseRun, item_id: str, output_index: int, word: str
) -> Frame:
    _count_sent(run, word)
    _grow_part(state, run, word)
    return state.frame(
        "response.output_audio_transcript.delta",
        response_id=run.id,
        item_id=item_id,
        output_index=output_index,
        content_index=0,
        delta=word,
        obfuscation="",
    )


def _stream_audio(state: SessionState, run: ResponseRun, text: str) -> Iterator[Frame]:
    item_id = new_id("item")
    format_type = run.settings["format"]["type"]
    bpm = synth.bytes_per_ms(format_type)
    # Registered before the item is announced: no one knows the id earlier.
    state.item_bytes_per_ms[item_id] = bpm
    output_index = yield from _open_message(
        state, run, item_id, {"type": "audio", "transcript": ""}
    )
    chunk_ms = state.audio_chunk_ms
    speed = float(state.config["audio"]["output"].get("speed", 1.0))
    audio, chunks = synth.voiced(
        text, format_type, chunk_ms, state.speech, run.settings["voice"], speed
    )
    raw = memoryview(audio)
    stored = state.conversation.audio_of(item_id) if run.in_conversation else bytearray()
    words = split_words(text)
    ids = state.ids
    head = (
        b'{"type":"response.output_audio.delta","response_id":"'
        + run.id.encode()
        + b'","item_id":"'
        + item_id.encode()
        + b'","output_index":'
        + str(output_index).encode()
        + b',"content_index":0,"event_id":"'
    )
    chunk_bytes = bpm * chunk_ms
    tokens_per_chunk = chunk_ms * OUTPUT_AUDIO_TOKENS_PER_S / 1000
    n_chunks = len(chunks)
    n_words = len(words)
    word_index = 0
    for i, chunk in enumerate(chunks):
        while word_index < n_words and word_index * n_chunks <= i * n_words:
            yield _transcript_delta(state, run, item_id, output_index, words[word_index])
            word_index += 1
        piece = raw[i * chunk_bytes : (i + 1) * chunk_bytes]
        if item_id not in state.truncated_items:
            # once truncated, the conversation keeps only what the client said was heard
            stored.extend(piece)
        state.voice_locked = True
        run.output_audio_ms += len(piece) // bpm
        run.output_tokens += tokens_per_chunk
        yield Frame(
            "response.output_audio.delta",
            head + ids.next().encode() + b'","delta":"' + chunk + b'"}',
            len(piece) // bpm,
        )
        if run.over_budget:
            return
    for word in words[word_index:]:
        yield _transcript_delta(state, run, item_id, output_index, word)
    yield from close_item(state, run, "completed")


def _stream_text(state: SessionState, run: ResponseRun, text: str) -> Iterator[Frame]:
    item_id = new_id("item")
    output_index = yield from _open_message(state, run, item_id, {"type": "text", "text": ""})
    for word in split_words(text):
        _count_sent(run, word)
        _grow_part(state, run, word)
        yield state.frame(
            "response.output_text.delta",
            response_id=run.id,
            item_id=item_id,
            output_index=output_index,
            content_index=0,
            delta=word,
        )
        if run.over_budget:
            return
    yield from close_item(state, run, "completed")


def _stream_call(state: SessionState, run: ResponseRun, call: FunctionCall) -> Iterator[Frame]:
    item: Json = {
        "id": new_id("item"),
        "object": "realtime.item",
        "type": "function_call",
        "status": "in_progress",
        "name": call.name,
        "call_id": new_call_id(),
        "arguments": "",
    }
    yield from _open_item(state, run, item)
    output_index = len(run.output) - 1
    for piece in _pieces(call.arguments):
        _count_sent(run, piece)
        yield state.frame(
            "response.function_call_arguments.delta",
            response_id=run.id,
            item_id=item["id"],
            output_index=output_index,
            call_id=item["call_id"],
            delta=piece,
        )
        if run.over_budget:
            return
    yield from close_item(state, run, "completed")


def close_item(state: SessionState, run: ResponseRun, status: str) -> Iterator[Frame]:
    """The closing events of the item being streamed, describing what was sent of it."""
    item = run.current
    if item is None:
        return
    run.current = None
    output_index = run.output.index(item)
    ids = {"response_id": run.id, "item_id": item["id"], "output_index": output_index}
    text = run.sent_text
    if item["type"] == "function_call":
        item["arguments"] = text
        yield state.frame(
            "response.function_call_arguments.done",
            **ids,
            call_id=item["call_id"],
            name=item["name"],
            arguments=text,
        )
    elif run.part_open:
        run.part_open = False
        if run.settings["output_modalities"] == ["text"]:
            yield state.frame("response.output_text.done", **ids, content_index=0, text=text)
            part: Json = {"type": "text", "text": text}
            item["content"] = [{"type": "output_text", "text": text}]
        else:
            yield state.frame("response.output_audio.done", **ids, content_index=0)
            yield state.frame(
                "response.output_audio_transcript.done", **ids, content_index=0, transcript=text
            )
            part = {"type": "audio", "transcript": text}
            # a truncated item keeps its transcript deleted (see items.on_truncate)
            kept = "" if item["id"] in state.truncated_items else text
            item["content"] = [{"type": "output_audio", "transcript": kept}]
        yield state.frame("response.content_part.done", **ids, content_index=0, part=part)
    item["status"] = status
    yield state.frame(
        "response.output_item.done", response_id=run.id, output_index=output_index, item=item
    )
    if run.in_conversation and item["id"] in state.conversation:
        yield state.frame(
            "conversation.item.done",
            item=item,
            previous_item_id=state.conversation.previous_id(item["id"]),
        )


def finish(
    state: SessionState, run: ResponseRun, status: str, details: Json | None
) -> Iterator[Frame]:
    """``response.done`` and ``rate_limits.updated`` (once per response), then trailing frames."""
    if run in state.runs:
        state.runs.remove(run)
    if run.id in state.finished_runs:
        return
    state.finished_runs[run.id] = status
    # the idle timeout counts from the end of this answer's playback on the client
    state.idle.arm(run.output_audio_ms, state.buffer.written_ms)
    yield state.frame(
        "response.done", response=response_object(state, run, status, details, final=True)
    )
    used = math.ceil(run.output_tokens) + run.input_tokens + run.input_audio_tokens
    yield state.frame(
        "rate_limits.updated",
        rate_limits=[
            {"name": "requests", "limit": 5000, "remaining": 4999, "reset_seconds": 0.012},
            {
                "name": "tokens",
                "limit": 40000,
                "remaining": max(0, 40000 - used),
                "reset_seconds": round(used * 60 / 40000, 3),
            },
        ],
    )
    yield from run.trailing
    run.trailing = []


def cancel(state: SessionState, response_id: str, reason: str) -> list[Frame]:
    """End a running response now: close its open item, then ``response.done`` cancelled."""
    run = next(r for r in state.runs if r.id == response_id)
    if run.stream is not None:
        run.stream.close()
    run.started = True
    frames = list(close_item(state, run, "incomplete"))
    frames.extend(finish(state, run, "cancelled", {"type": "cancelled", "reason": reason}))
    return frames
