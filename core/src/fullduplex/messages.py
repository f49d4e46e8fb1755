"""The conversation history: a JSON-serializable list of messages.

The shape follows the one users of other agent SDKs know: each message has a
``role`` and a list of content blocks, each block holding exactly one of
``text``, ``toolUse``, ``toolResult`` or ``image``. A history can be dumped
with ``json.dumps`` and handed to a new agent as ``messages=`` to carry a
conversation on (the provider replays it into its new connection).
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypeAlias, TypedDict


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
