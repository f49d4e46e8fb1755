"""``response.create`` and ``response.cancel``: starting and stopping responses.

Starting a response fixes its settings (the session's, overridden by the
event's ``response`` object), asks the responder what to say with the
conversation told in the kit's neutral terms (``turns``), counts the input
tokens, and answers ``response.created``; the frames that follow come from
``streaming.stream`` as the transport pumps them.
"""

from __future__ import annotations

import math

from fullduplex_emulator.frames import Frame
from fullduplex_emulator.responder import TurnContext

from .errors import RealtimeProtocolError
from .ids import new_id
from .state import INPUT_AUDIO_TOKENS_PER_S, Json, ResponseRun, SessionState
from .streaming import cancel, response_object
from .turns import declarations_of, turns_of
from .validation import check_response_params


def _tokens_for_text(text: str) -> int:
    return math.ceil(len(text) / 4)


def on_create(state: SessionState, event: Json) -> list[Frame]:
    """``response.create``: refused while another response writes to the conversation."""
    params = check_response_params(event.get("response"))
    out_of_band = params.get("conversation") == "none"
    active = state.active_response_id
    if active is not None and not out_of_band:
        raise RealtimeProtocolError(
            "conversation_already_has_active_response",
            f"Conversation already has an active response in progress: {active}. "
            "Wait until the response is finished before creating a new one.",
        )
    return start_response(state, params)


def on_cancel(state: SessionState, event: Json) -> list[Frame]:
    """``response.cancel``: the named response, else the active one."""
    wanted = event.get("response_id")
    target = wanted if isinstance(wanted, str) else state.active_response_id
    if target is None or not any(run.id == target for run in state.runs):
        raise RealtimeProtocolError(
            "response_cancel_not_active", "Cancellation failed: no active response found"
        )
    return cancel(state, target, "client_cancelled")


def _settings(state: SessionState, params: Json) -> Json:
    config = state.config
    audio_output = config["audio"]["output"]
    overrides = params.get("audio_output", {})
    tools = params.get("tools", config["tools"])
    tool_choice = params.get("tool_choice", config["tool_choice"])
    return {
        "output_modalities": params.get("output_modalities", config["output_modalities"]),
        "instructions": params.get("instructions", config["instructions"]),
        "tools": [] if tool_choice == "none" else tools,
        "max_output_tokens": params.get("max_output_tokens", config["max_output_tokens"]),
        "format": overrides.get("format", audio_output["format"]),
        "voice": overrides.get("voice", audio_output["voice"]),
        "metadata": params.get("metadata"),
        "conversation": params.get("conversation", "auto"),
        "input": params.get("input"),
    }


def _context_items(state: SessionState, settings: Json) -> list[Json]:
    if settings["input"] is None:
        return list(state.conversation.items)
    items: list[Json] = []
    for entry in settings["input"]:
        if isinstance(entry, dict) and entry.get("type") == "item_reference":
            items.append(state.conversation.get(str(entry.get("id"))))
        elif isinstance(entry, dict):
            items.append(entry)
    return items


def start_response(state: SessionState, params: Json, *, idle_timeout: bool = False) -> list[Frame]:
    """Ask the responder, queue the run for ``pump``, and answer ``response.created``."""
    state.idle.disarm()
    settings = _settings(state, params)
    items = _context_items(state, settings)
    transcripts = dict(state.transcripts)
    audio_ms = dict(state.audio_ms)
    context = TurnContext(
        items=items,
        tools=settings["tools"],
        instructions=settings["instructions"],
        transcripts=transcripts,
        audio_ms=audio_ms,
        idle_timeout=idle_timeout,
        turns=turns_of(items, transcripts, audio_ms),
        declarations=declarations_of(settings["tools"]),
    )
    reply = state.responder.respond(context)
    run = ResponseRun(new_id("resp"), settings, reply)
    for item in items:
        for part in item.get("content", ()):
            run.input_tokens += _tokens_for_text(str(part.get("text") or ""))
        run.input_audio_tokens += (
            state.audio_ms.get(str(item.get("id")), 0) * INPUT_AUDIO_TOKENS_PER_S // 1000
        )
    run.input_tokens += _tokens_for_text(settings["instructions"])
    run.trailing = state.pending_transcription
    state.pending_transcription = []
    state.runs.append(run)
    return [state.frame("response.created", response=response_object(state, run, "in_progress"))]
