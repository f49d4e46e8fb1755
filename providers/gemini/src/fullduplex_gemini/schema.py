"""Tool parameters as the Live API wants them: the OpenAPI subset in ``parameters``.

Why a conversion at all: fullduplex tools describe their parameters in JSON
Schema, and the 2.x Live models silently ignore ``parametersJsonSchema`` (the
calls arrive with empty ``args``), while ``additionalProperties`` inside
``parameters`` gets the session closed on 3.x. So the schema is rewritten into
the protobuf ``Schema`` the service reads: upper-case ``type`` names,
``nullable`` instead of ``["x", "null"]``, ``enum`` instead of ``const``, and
the keywords it does not know left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from fullduplex.tools import ToolSpec

from .config import ToolOptions

_TYPES: Final = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
#: keywords copied as they are
_KEPT: Final = (
    "description",
    "format",
    "enum",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minLength",
    "maxLength",
    "pattern",
    "required",
    "default",
    "example",
)


def openapi_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """One JSON Schema node as a Live API ``Schema`` (recursively)."""
    out: dict[str, Any] = {}
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        if len(kinds) != len(kind):
            out["nullable"] = True
        kind = kinds[0] if kinds else None
    if isinstance(kind, str) and kind in _TYPES:
        out["type"] = _TYPES[kind]
    for key in _KEPT:
        if key in schema:
            out[key] = schema[key]
    if "const" in schema:
        out["enum"] = [schema["const"]]
    if "enum" in out:
        out["enum"] = [str(value) for value in out["enum"]]
        out.setdefault("type", "STRING")
        out.setdefault("format", "enum")
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        out["properties"] = {
            str(name): openapi_schema(sub)
            for name, sub in properties.items()
            if isinstance(sub, Mapping)
        }
        out.setdefault("type", "OBJECT")
    items = schema.get("items")
    if isinstance(items, Mapping):
        out["items"] = openapi_schema(items)
        out.setdefault("type", "ARRAY")
    for union in ("anyOf", "oneOf"):
        choices = schema.get(union)
        if isinstance(choices, list):
            parts = [c for c in choices if isinstance(c, Mapping)]
            non_null = [c for c in parts if c.get("type") != "null"]
            if len(non_null) != len(parts):
                out["nullable"] = True
            if len(non_null) == 1:
                out.update({k: v for k, v in openapi_schema(non_null[0]).items() if k not in out})
            elif non_null:
                out["anyOf"] = [openapi_schema(c) for c in non_null]
    return out


def function_declarations(
    tools: Sequence[ToolSpec], options: Mapping[str, ToolOptions]
) -> list[dict[str, Any]]:
    """The ``functionDeclarations`` for ``tools`` (``behavior`` from ``provider_config.tools``)."""
    declarations = []
    for spec in tools:
        declaration: dict[str, Any] = {"name": spec.name, "description": spec.description}
        parameters = openapi_schema(spec.parameters or {})
        if parameters.get("properties"):
            declaration["parameters"] = parameters
        option = options.get(spec.name)
        if option is not None and option.behavior == "NON_BLOCKING":
            declaration["behavior"] = "NON_BLOCKING"
        declarations.append(declaration)
    return declarations
