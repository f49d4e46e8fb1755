"""Tool results the way clients send them, spoken back by the scripted responder.

Strands sends a tool's result as a JSON array of content blocks
(``[{"text": "84"}]``); other clients send a JSON object or plain text. The
emulator's model must speak the result, never the JSON around it.
"""

from __future__ import annotations

import pytest

from conftest import assert_valid_frames, user_message
from fullduplex_openai.emulator import Frame, RealtimeSession


def _answer_after_tool(output: str) -> str:
    session = RealtimeSession()
    frames: list[Frame] = []
    for event in (
        {"type": "conversation.item.create", "item": user_message("what is 12 times 7?")},
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call",
                "name": "calculator",
                "call_id": "call_1",
                "arguments": '{"expression": "12*7"}',
            },
        },
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "call_1", "output": output},
        },
        {"type": "response.create"},
    ):
        frames += session.handle(event)
    while session.has_pending_output():
        frames += session.pump()
    assert_valid_frames(frames)
    done = next(f for f in frames if f.type == "response.done").event["response"]
    transcript: str = done["output"][0]["content"][0]["transcript"]
    return transcript


@pytest.mark.parametrize(
    "output",
    [
        '[{"text": "84"}]',  # Strands
        '[{"type": "text", "text": "84"}]',
        '[{"json": {"result": 84}}]',
        '{"result": 84}',
        '{"content": [{"type": "text", "text": "84"}]}',  # MCP's shape
        "84",
    ],
)
def test_the_result_is_spoken_whatever_its_shape(output: str) -> None:
    assert _answer_after_tool(output) == "The answer is 84."


def test_several_text_blocks_are_spoken_in_order() -> None:
    assert _answer_after_tool('[{"text": "eighty"}, {"text": "four"}]') == (
        "The answer is eighty four."
    )


def test_an_array_that_is_not_content_blocks_stays_json() -> None:
    assert _answer_after_tool("[1, 2]") == "The answer is [1,2]."
