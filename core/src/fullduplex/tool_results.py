"""What the model reads back from a tool: a result always made of strict JSON.

A tool may return anything; providers must put JSON on the wire. These
helpers turn a return value, an error message or a hook's replacement result
into strict JSON text (no ``NaN``, bytes as text or base64, objects through
``model_dump`` / dataclasses / attrs / ``str``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import attrs

from .events import ToolResultEvent, ToolStatus
from .tool_types import ToolCall


def _json_default(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if attrs.has(type(value)):
        return attrs.asdict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def is_json(text: str) -> bool:
    """True when ``text`` is strict JSON (no ``NaN`` / ``Infinity``)."""
    try:
        json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return False
    return True


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` made of JSON types only: non-finite floats become their names,
    bytes text (UTF-8) or base64, other objects what :func:`_json_default` makes."""
    if depth > 64:
        return repr(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(raw).decode("ascii")
    if isinstance(value, Mapping):
        return {str(key): _plain(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item, depth + 1) for item in value]
    converted = _json_default(value)
    if isinstance(converted, str) or converted is value:
        return converted if isinstance(converted, str) else repr(converted)
    return _plain(converted, depth + 1)


def result_content(value: Any) -> str:
    """The text the model reads for a tool's return value: always strict JSON.

    A string that is JSON already goes as it is; any other string goes as a
    JSON string. Other values are encoded with ``allow_nan=False`` after
    turning what JSON cannot hold (``NaN``, bytes, objects) into JSON types,
    so the provider never puts non-JSON on the wire.
    """
    if isinstance(value, str):
        return value if is_json(value) else json.dumps(value, ensure_ascii=False)
    try:
        return json.dumps(value, default=_json_default, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        return json.dumps(_plain(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return json.dumps(repr(value), ensure_ascii=False)


def as_json_result(result: ToolResultEvent) -> ToolResultEvent:
    """``result`` with its content made strict JSON (see :func:`result_content`)."""
    content: Any = result.content
    if isinstance(content, str) and is_json(content):
        return result
    return attrs.evolve(result, content=result_content(content))


def error_content(message: str) -> str:
    """The text the model reads for a failed call: ``{"error": message}``."""
    return json.dumps({"error": message}, ensure_ascii=False)


def error_result(call: ToolCall, message: str, status: ToolStatus = "error") -> ToolResultEvent:
    """An error (or cancelled) result for ``call``."""
    return ToolResultEvent(
        call.call_id, call.name, error_content(message), status, call.response_id
    )


__all__ = ["as_json_result", "error_content", "error_result", "is_json", "result_content"]
