"""Property-based tests of the sans-I/O protocol (hypothesis).

1. Whatever JSON a server sends, in whatever order, ``handle()`` raises
   nothing but fullduplex's own errors (and only the ones it means: fatal
   server errors), so a hostile or buggy peer cannot crash ``receive()``.
2. The response state machine never strands a turn: after any sequence of
   server events and client calls, once the server finishes what is active
   and every tool call has its result, an owed answer always has a
   ``response.create`` queued or in flight; and a well-behaved server then
   answers every owed turn until nothing is owed.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_protocol import SESSION, Clock, args_done, audio, created, done, fn_item

from fullduplex.errors import FullDuplexError
from fullduplex_openai.protocol import IGNORED_EVENTS, RealtimeProtocol

PROPERTY_SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

HANDLED_TYPES = sorted(
    {
        "response.output_audio.delta",
        "response.output_audio.done",
        "response.output_audio_transcript.delta",
        "response.output_text.delta",
        "response.output_audio_transcript.done",
        "response.output_text.done",
        "response.created",
        "response.done",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "input_audio_buffer.cleared",
        "conversation.item.input_audio_transcription.delta",
        "conversation.item.input_audio_transcription.completed",
        "conversation.item.input_audio_transcription.failed",
        "session.created",
        "session.updated",
        "error",
        *IGNORED_EVENTS,
    }
)
FIELDS = (
    "delta",
    "item_id",
    "response_id",
    "response",
    "error",
    "item",
    "call_id",
    "name",
    "arguments",
    "transcript",
    "text",
    "audio_start_ms",
    "audio_end_ms",
    "session",
)

#: events of a known type whose fields hold anything at all
shaped_events = st.builds(
    lambda kind, fields: {"type": kind, **fields},
    st.sampled_from(HANDLED_TYPES),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
)
frames = json_values | shaped_events


def make(clock: Clock) -> RealtimeProtocol:
    return RealtimeProtocol(
        model_id="gpt-realtime", base_session=SESSION, clock=clock, create_timeout_s=5.0
    )


@PROPERTY_SETTINGS
@given(st.lists(frames, max_size=25))
def test_any_json_in_any_order_raises_only_fullduplex_errors(events: list[Any]) -> None:
    proto = make(Clock())
    proto.text_input("hello")
    for event in events:
        try:
            proto.handle(event)
        except FullDuplexError:
            continue  # a fatal server error, raised on purpose


# ------------------------------------------------------------- state machine

rids = st.sampled_from(["r1", "r2", "r3"])
calls = st.sampled_from(["c1", "c2", "c3"])
actions = st.one_of(
    st.tuples(st.just("text"), st.sampled_from(["one", "two", "three"])),
    st.tuples(st.just("assistant_text"), st.just("noted")),
    st.tuples(st.just("created"), rids),
    st.tuples(st.just("done"), rids, st.sampled_from(["completed", "cancelled", "failed"])),
    st.tuples(st.just("call"), calls, rids),
    st.tuples(st.just("result"), calls),
    st.tuples(st.just("audio"), rids),
    st.tuples(
        st.just("error"),
        st.sampled_from([None, "fd_response_create", "other"]),
        st.sampled_from(
            [None, "invalid_value", "conversation_already_has_active_response", "server_error"]
        ),
    ),
    st.tuples(st.just("expire")),
    st.tuples(st.just("request")),
    st.tuples(st.just("reset")),
    st.tuples(st.just("garbage"), frames),
)


def has_create(proto: RealtimeProtocol) -> bool:
    return any(m.get("type") == "response.create" for m in proto.outbox)


class World:
    """The protocol plus what the test knows: calls made, results given, the clock."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.proto = make(self.clock)
        self.open_calls: set[str] = set()
        self.next_rid = 0

    def apply(self, action: tuple[Any, ...]) -> None:
        proto = self.proto
        kind = action[0]
        if kind == "text":
            proto.text_input(action[1])
        elif kind == "assistant_text":
            proto.text_input(action[1], role="assistant")
        elif kind == "created":
            proto.handle(created(action[1]))
        elif kind == "done":
            proto.handle(done(action[1], status=action[2]))
        elif kind == "call":
            proto.handle(fn_item(action[1], "f", action[2]))
            proto.handle(args_done(action[1], "f", action[2]))
            self.open_calls.add(action[1])
        elif kind == "result" and action[1] in self.open_calls:
            self.open_calls.discard(action[1])
            proto.tool_result(action[1], "ok")
        elif kind == "audio":
            proto.handle(audio(rid=action[1]))
        elif kind == "error":
            error: dict[str, Any] = {"type": "invalid_request_error", "message": "no"}
            if action[1] is not None:
                error["event_id"] = action[1]
            if action[2] is not None:
                error["code"] = action[2]
            proto.handle({"type": "error", "error": error})
        elif kind == "expire":
            self.clock.t += 6.0
            proto.expire_create()
        elif kind == "request":
            proto.request_response()
        elif kind == "reset":
            proto.reset()
            proto.expect_results(sorted(self.open_calls))
        elif kind == "garbage":
            proto.handle(action[1])
        proto.outbox = []  # the model sends what the call queued at once

    def server_finishes(self) -> None:
        """Every tool answers, then the active response ends (the final response.done)."""
        for call in sorted(self.open_calls):
            self.proto.tool_result(call, "ok")
        self.open_calls.clear()
        self.proto.handle(done("r_final"))

    def serve_until_quiet(self) -> None:
        """A well-behaved server: answers each response.create, gives up on none."""
        proto = self.proto
        for _ in range(40):
            if has_create(proto):
                proto.outbox = []
                self.next_rid += 1
                rid = f"served_{self.next_rid}"
                proto.handle(created(rid))
                proto.handle(done(rid))
            elif proto.create_deadline is not None:  # lost earlier: the deadline ends it
                self.clock.t += 6.0
                proto.expire_create()
            else:
                return


@PROPERTY_SETTINGS
@given(st.lists(actions, max_size=30))
def test_no_turn_is_ever_owed_without_a_request(steps: list[tuple[Any, ...]]) -> None:
    world = World()
    for step in steps:
        try:
            world.apply(step)
        except FullDuplexError:
            continue
    world.server_finishes()
    proto = world.proto
    if proto.answer_pending:
        assert has_create(proto) or proto.create_deadline is not None
    world.serve_until_quiet()
    assert not proto.answer_pending
    assert not proto.response_active
