"""``fullduplex.tracing``: spans per conversation, turn, tool call and reconnect,
read back from the OpenTelemetry SDK's in-memory exporter; no user words or
keys unless ``record_content`` is set."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

from fullduplex import BidiAgent
from fullduplex.errors import ModelConnectionError
from fullduplex.events import (
    BidiAudioStreamEvent,
    BidiResponseCompleteEvent,
    BidiResponseStartEvent,
    BidiTextInputEvent,
    BidiTranscriptStreamEvent,
    BidiUsageEvent,
    ToolResultEvent,
    ToolUseStreamEvent,
)
from fullduplex.testing import (
    FakeModel,
    RecordingOutput,
    ScriptedInput,
    emit,
    expect,
    fail,
)
from fullduplex.tools import tool
from fullduplex.tracing import Tracing

SECRET_WORDS = "my password is hunter2-sk-abcdef123456"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    yield memory
    memory.clear()


def provider_for(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@tool
def lookup(query: str) -> str:
    """Look something up."""
    return f"found {len(query)} things"


def script() -> list[object]:
    return [
        expect(BidiTextInputEvent),
        emit(
            BidiResponseStartEvent("r1"),
            ToolUseStreamEvent(
                "c1", "lookup", f'{{"query": "{SECRET_WORDS}"}}', is_final=True, response_id="r1"
            ),
            BidiUsageEvent(30, 5, 35, "r1"),
            BidiResponseCompleteEvent("r1", "tool_use"),
        ),
        expect(ToolResultEvent),
        fail(ModelConnectionError("dropped")),
        emit(
            BidiResponseStartEvent("r2"),
            BidiTranscriptStreamEvent("Found", "assistant", response_id="r2", item_id="i2"),
            BidiAudioStreamEvent(b"\x00\x00" * 2400, 24000, 1, "pcm16", "r2", "i2"),
            BidiTranscriptStreamEvent("", "assistant", True, "Found it.", "r2", "i2"),
            BidiUsageEvent(40, 9, 49, "r2"),
            BidiResponseCompleteEvent("r2"),
        ),
    ]


async def converse(tracing: Tracing) -> BidiAgent:
    agent = BidiAgent(
        FakeModel(script(), model_id="fake-realtime"),
        tools=[lookup],
        plugins=[tracing],
        restart_backoff_s=0.01,
    )
    async with asyncio.timeout(10):
        await agent.run(inputs=[ScriptedInput([SECRET_WORDS])], outputs=[RecordingOutput()])
    return agent


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


async def test_a_conversation_is_one_trace_of_turns_tools_and_reconnects(
    exporter: InMemorySpanExporter,
) -> None:
    agent = await converse(Tracing(provider_for(exporter)))
    spans = exporter.get_finished_spans()
    names = sorted(span.name for span in spans)
    assert names == [
        "chat fake-realtime",
        "execute_tool lookup",
        "invoke_agent fake-realtime",
        "reconnect",
    ]
    named = by_name(spans)
    root, turn = named["invoke_agent fake-realtime"], named["chat fake-realtime"]
    tool_span, reconnect = named["execute_tool lookup"], named["reconnect"]
    assert root.parent is None
    assert {span.context.trace_id for span in spans} == {root.context.trace_id}
    assert turn.parent is not None
    assert turn.parent.span_id == root.context.span_id
    assert tool_span.parent is not None
    assert tool_span.parent.span_id == turn.context.span_id
    assert reconnect.parent is not None
    assert reconnect.parent.span_id == root.context.span_id

    assert root.attributes is not None
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.request.model"] == "fake-realtime"
    assert root.attributes["gen_ai.usage.input_tokens"] == 70
    assert root.attributes["gen_ai.usage.output_tokens"] == 14
    assert root.attributes["fullduplex.reconnects"] == 1
    assert root.attributes["fullduplex.turns"] == 1

    assert turn.attributes is not None
    assert turn.attributes["gen_ai.operation.name"] == "chat"
    assert turn.attributes["gen_ai.response.id"] == "r1"
    assert turn.attributes["gen_ai.usage.output_tokens"] == 14
    assert turn.attributes["fullduplex.turn.tool_calls"] == 1
    assert turn.attributes["fullduplex.turn.first_audio_ms"] >= 0  # type: ignore[operator]
    assert turn.attributes["fullduplex.turn.first_text_ms"] >= 0  # type: ignore[operator]
    assert (
        agent.metrics.turns[0].first_audio_ms == turn.attributes["fullduplex.turn.first_audio_ms"]
    )
    assert turn.start_time is not None
    assert tool_span.start_time is not None
    assert turn.start_time <= tool_span.start_time

    assert tool_span.attributes is not None
    assert tool_span.attributes["gen_ai.tool.name"] == "lookup"
    assert tool_span.attributes["gen_ai.tool.call.id"] == "c1"
    assert reconnect.attributes is not None
    assert reconnect.attributes["fullduplex.reconnect.attempt"] == 1


async def test_no_user_words_or_keys_by_default(exporter: InMemorySpanExporter) -> None:
    await converse(Tracing(provider_for(exporter)))
    for span in exporter.get_finished_spans():
        recorded = repr(dict(span.attributes or {})) + repr([e.attributes for e in span.events])
        assert "hunter2" not in recorded, span.name
        assert "sk-" not in recorded, span.name
        assert not span.events


async def test_record_content_adds_tool_arguments_results_and_messages(
    exporter: InMemorySpanExporter,
) -> None:
    await converse(Tracing(provider_for(exporter), record_content=True))
    named = by_name(exporter.get_finished_spans())
    tool_span = named["execute_tool lookup"]
    assert tool_span.attributes is not None
    assert "hunter2" in str(tool_span.attributes["gen_ai.tool.call.arguments"])
    assert "found 38 things" in str(tool_span.attributes["gen_ai.tool.call.result"])
    events = [e for span in exporter.get_finished_spans() for e in span.events]
    assert "gen_ai.user.message" in {e.name for e in events}


async def test_a_failing_tool_marks_its_span(exporter: InMemorySpanExporter) -> None:
    @tool
    def broken() -> str:
        """Always fails."""
        raise RuntimeError("nope")

    model = FakeModel(
        [
            expect(BidiTextInputEvent),
            emit(
                BidiResponseStartEvent("r1"),
                ToolUseStreamEvent("c9", "broken", "{}", is_final=True, response_id="r1"),
                BidiResponseCompleteEvent("r1", "tool_use"),
            ),
            expect(ToolResultEvent),
            emit(BidiResponseStartEvent("r2"), BidiResponseCompleteEvent("r2")),
        ]
    )
    agent = BidiAgent(model, tools=[broken], plugins=[Tracing(provider_for(exporter))])
    async with asyncio.timeout(10):
        await agent.run(inputs=[ScriptedInput(["go"])], outputs=[RecordingOutput()])
    span = by_name(exporter.get_finished_spans())["execute_tool broken"]
    assert span.status.status_code.name == "ERROR"
