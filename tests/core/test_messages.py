"""The history format: builders, validation with precise errors, JSON safety."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fullduplex.errors import ConfigurationError
from fullduplex.messages import (
    message_text,
    text_message,
    tool_result_message,
    tool_use_message,
    validate_messages,
)


def test_builders_make_valid_json_messages() -> None:
    history = [
        text_message("user", "what is 2+2?"),
        tool_use_message("c1", "calculator", {"expression": "2+2"}),
        tool_result_message("c1", "success", "4"),
        text_message("assistant", "four"),
    ]
    assert validate_messages(history) == json.loads(json.dumps(history))
    assert message_text(history[-1]) == "four"
    assert history[2]["content"][0]["toolResult"]["content"] == [{"text": "4"}]


def test_validate_returns_a_copy() -> None:
    original = [text_message("user", "hi")]
    copied = validate_messages(original)
    copied[0]["content"].append({"text": "more"})
    assert original == [text_message("user", "hi")]


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ("not a list", r"^messages: expected a list"),
        ([42], r"messages\[0\]: expected a dict"),
        ([{"role": "system", "content": []}], r"messages\[0\]\.role"),
        ([{"role": "user"}], r"messages\[0\]\.content"),
        ([{"role": "user", "content": [{"text": 1}]}], r"messages\[0\]\.content\[0\]\.text"),
        (
            [{"role": "user", "content": [{"text": "a", "image": {}}]}],
            r"messages\[0\]\.content\[0\]: a content block holds exactly one",
        ),
        (
            [
                text_message("user", "ok"),
                {"role": "user", "content": [{"toolResult": {"toolUseId": "c", "status": "meh"}}]},
            ],
            r"messages\[1\]\.content\[0\]\.toolResult\.status",
        ),
        (
            [{"role": "assistant", "content": [{"toolUse": {"toolUseId": "c", "name": "x"}}]}],
            r"toolUse\.input",
        ),
        (
            [{"role": "user", "content": [{"image": {"format": "png", "source": {}}}]}],
            r"image\.source",
        ),
        ([{"role": "user", "content": [], "when": 1}], r"messages\[0\]\.when: not a message"),
        ([{"role": "user", "content": [], "interrupted": "yes"}], r"interrupted"),
        (
            [
                {
                    "role": "assistant",
                    "content": [{"toolUse": {"toolUseId": "c", "name": "x", "input": {1, 2}}}],
                }
            ],
            r"JSON-serializable",
        ),
    ],
)
def test_invalid_histories_name_index_and_field(messages: Any, where: str) -> None:
    with pytest.raises(ConfigurationError, match=where):
        validate_messages(messages)
