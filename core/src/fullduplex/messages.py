"""The conversation history: a JSON-serializable list of messages.

The shape follows the one users of other agent SDKs know: each message has a
``role`` and a list of content blocks, each block holding exactly one of
``text``, ``toolUse``, ``toolResult`` or ``image``. A history can be dumped
with ``json.dumps`` and handed to a new agent as ``messages=`` to carry a
conversation on (the provider replays it into its new connection).
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, TypeAlias, TypedDict

from .errors import ConfigurationError


class ToolUse(TypedDict):
    """A tool call the model made."""

    toolUseId: str
    name: str
    input: Any


class ToolResultContent(TypedDict):
    text: str


class ToolResult(TypedDict):
    """The result of a tool call, as recorded in history."""

    toolUseId: str
    status: Literal["success", "error", "cancelled"]
    content: list[ToolResultContent]


class ImageBlock(TypedDict):
    format: str  # "png" | "jpeg"
    source: dict[str, str]  # {"base64": "..."}


class ContentBlock(TypedDict, total=False):
    text: str
    toolUse: ToolUse
    toolResult: ToolResult
    image: ImageBlock


class Message(TypedDict):
    role: Literal["user", "assistant"]
    content: list[ContentBlock]
    #: True on an assistant message the user cut short
    interrupted: NotRequired[bool]


Messages: TypeAlias = list[Message]


# ---------------------------------------------------------------------- builders

_ROLES = ("user", "assistant")
_BLOCK_KINDS = ("text", "toolUse", "toolResult", "image")
_STATUSES = ("success", "error", "cancelled")


def text_message(role: Literal["user", "assistant"], text: str) -> Message:
    """A message holding one text block."""
    return {"role": role, "content": [{"text": text}]}


def tool_use_message(tool_use_id: str, name: str, tool_input: Any) -> Message:
    """The assistant's tool call, as recorded in history."""
    return {
        "role": "assistant",
        "content": [{"toolUse": {"toolUseId": tool_use_id, "name": name, "input": tool_input}}],
    }


def tool_result_message(
    tool_use_id: str, status: Literal["success", "error", "cancelled"], text: str
) -> Message:
    """A tool's result, as recorded in history (a user-role message, by convention)."""
    return {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": tool_use_id,
                    "status": status,
                    "content": [{"text": text}],
                }
            }
        ],
    }


# -------------------------------------------------------------------- validation


def _fail(where: str, problem: str) -> ConfigurationError:
    return ConfigurationError(f"{where}: {problem}")


def _check_block(block: object, where: str) -> None:
    if not isinstance(block, dict):
        raise _fail(where, f"expected a dict content block, got {type(block).__name__}")
    kinds = [k for k in _BLOCK_KINDS if k in block]
    if len(kinds) != 1:
        raise _fail(
            where,
            f"a content block holds exactly one of {', '.join(_BLOCK_KINDS)}; "
            f"got keys {sorted(block)}",
        )
    kind = kinds[0]
    value = block[kind]
    here = f"{where}.{kind}"
    if kind == "text":
        if not isinstance(value, str):
            raise _fail(here, f"expected text (str), got {type(value).__name__}")
    elif kind == "toolUse":
        if not isinstance(value, dict):
            raise _fail(here, f"expected a dict, got {type(value).__name__}")
        for key in ("toolUseId", "name"):
            if not isinstance(value.get(key), str):
                raise _fail(f"{here}.{key}", "required, a string")
        if "input" not in value:
            raise _fail(f"{here}.input", "required (the call's arguments, JSON-serializable)")
    elif kind == "toolResult":
        if not isinstance(value, dict):
            raise _fail(here, f"expected a dict, got {type(value).__name__}")
        if not isinstance(value.get("toolUseId"), str):
            raise _fail(f"{here}.toolUseId", "required, a string")
        if value.get("status") not in _STATUSES:
            raise _fail(f"{here}.status", f"got {value.get('status')!r}; accepted: {_STATUSES}")
        content = value.get("content")
        if not isinstance(content, list) or not all(
            isinstance(part, dict) and isinstance(part.get("text"), str) for part in content
        ):
            raise _fail(f"{here}.content", 'expected a list of {"text": str}')
    else:
        if not isinstance(value, dict) or not isinstance(value.get("format"), str):
            raise _fail(f"{here}.format", "required, a string such as 'png'")
        source = value.get("source")
        if not isinstance(source, dict) or not isinstance(source.get("base64"), str):
            raise _fail(f"{here}.source", 'expected {"base64": "<base64 text>"}')


def validate_messages(messages: object) -> Messages:
    """Check a history (``BidiAgent(messages=...)``) and return a deep copy of it.

    Raises :class:`~fullduplex.errors.ConfigurationError` naming the index and
    field at fault (``messages[2].content[0].toolUse.name: required, a string``).
    """
    if not isinstance(messages, list | tuple):
        raise _fail("messages", f"expected a list of messages, got {type(messages).__name__}")
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            raise _fail(where, f"expected a dict, got {type(message).__name__}")
        if message.get("role") not in _ROLES:
            raise _fail(f"{where}.role", f"got {message.get('role')!r}; accepted: {_ROLES}")
        content = message.get("content")
        if not isinstance(content, list):
            raise _fail(f"{where}.content", "expected a list of content blocks")
        for block_index, block in enumerate(content):
            _check_block(block, f"{where}.content[{block_index}]")
        if "interrupted" in message and not isinstance(message["interrupted"], bool):
            raise _fail(f"{where}.interrupted", "expected true or false")
        unknown = sorted(set(message) - {"role", "content", "interrupted"})
        if unknown:
            raise _fail(
                f"{where}.{unknown[0]}", "not a message field; accepted: role, content, interrupted"
            )
    try:
        copied: Messages = json.loads(json.dumps(list(messages)))
    except (TypeError, ValueError) as exc:
        raise _fail("messages", f"must be JSON-serializable ({exc})") from exc
    return copied


def message_text(message: Message) -> str:
    """The text blocks of a message, joined (empty when it holds none)."""
    return "".join(block.get("text", "") for block in message["content"])
