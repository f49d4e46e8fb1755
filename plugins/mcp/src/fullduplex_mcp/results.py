"""An MCP ``tools/call`` result turned into what the model reads.

The result arrives as wire JSON (``content`` blocks, ``structuredContent``,
``isError``). The model reads one strict-JSON text, so:

- ``structuredContent`` (the server's JSON answer) wins when there is no
  image or audio to carry: the model gets that object as it is;
- a single text block becomes that text (JSON text stays JSON);
- anything richer becomes ``{"content": [...]}`` with text blocks as text and
  images / audio as ``{"type": "image", "mime_type": ..., "data": base64}``,
  resources by their URI (and text when embedded);
- ``isError`` becomes an error result, ``{"error": <the server's text>}``,
  which the model can speak about like any failed local tool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fullduplex.events import ToolStatus
from fullduplex.tools import error_content, result_content


def _block(block: Mapping[str, Any]) -> dict[str, Any]:
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if kind in ("image", "audio"):
        return {
            "type": kind,
            "mime_type": block.get("mimeType", "application/octet-stream"),
            "data": block.get("data", ""),
        }
    if kind == "resource":
        resource = block.get("resource") or {}
        item: dict[str, Any] = {"type": "resource", "uri": resource.get("uri", "")}
        if "text" in resource:
            item["text"] = resource["text"]
        elif "blob" in resource:
            item["mime_type"] = resource.get("mimeType", "application/octet-stream")
            item["data"] = resource["blob"]
        return item
    if kind == "resource_link":
        return {"type": "resource_link", "uri": block.get("uri", ""), "name": block.get("name")}
    return {"type": str(kind)}


def _text_of(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(b["text"] for b in blocks if b.get("type") == "text")


def map_result(result: Mapping[str, Any]) -> tuple[str, ToolStatus]:
    """``(content, status)`` for one ``CallToolResult`` given as wire JSON."""
    blocks = [_block(b) for b in result.get("content") or () if isinstance(b, Mapping)]
    if result.get("isError"):
        return error_content(_text_of(blocks) or "the MCP server reported an error"), "error"
    media = any(b["type"] not in ("text",) for b in blocks)
    structured = result.get("structuredContent")
    if structured is not None and not media:
        return result_content(structured), "success"
    if not media and len(blocks) == 1:
        return result_content(blocks[0]["text"]), "success"
    if not blocks and structured is None:
        return result_content(""), "success"
    payload: dict[str, Any] = {"content": blocks}
    if structured is not None:
        payload["structured"] = structured
    return result_content(payload), "success"


__all__ = ["map_result"]
