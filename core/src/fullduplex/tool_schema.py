"""A tool's JSON schema from its function: type hints, docstring, pydantic.

The description comes from the docstring, each argument's description from
its Google ``Args:`` or numpy ``Parameters`` section, the types from the hints.
The cheap checks (every parameter typed, hints resolvable, no ``*args``) run
when a tool is defined; the pydantic model that validates arguments and
writes the schema is built by :func:`build_arguments_model`, which
:class:`~fullduplex.agent_tool.AgentTool` calls when the schema is first
needed -- or at once when a hint is not one pydantic surely describes
(:func:`plainly_describable`), so a bad type still fails where the tool is
defined. pydantic is imported only here, and only then.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from .errors import ToolError
from .tool_types import ToolContext

if TYPE_CHECKING:
    import pydantic

# ------------------------------------------------------------------ docstrings

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?|"
    r"See Also|Attributes|Warnings?|References)\s*:?\s*$"
)
_GOOGLE_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ARG = re.compile(r"^\s*(\w+)\s*(?::.*)?$")


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """Split a docstring into (description, {argument: description}).

    Understands Google style (``Args:`` then ``name (type): text``) and numpy
    style (``Parameters`` underlined, then ``name : type`` and indented text).
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    args: dict[str, str] = {}
    index = 0
    while index < len(lines) and not _SECTION.match(lines[index]):
        description.append(lines[index])
        index += 1
    section: str | None = None
    numpy_style = False
    current: str | None = None
    arg_indent = 0
    while index < len(lines):
        line = lines[index]
        header = _SECTION.match(line)
        underline = index + 1 < len(lines) and set(lines[index + 1].strip()) == {"-"}
        if header and (line.rstrip().endswith(":") or underline):
            section = header.group(1).lower()
            numpy_style = underline
            current = None
            index += 2 if underline else 1
            continue
        index += 1
        if section not in ("args", "arguments", "parameters", "params") or not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if current is not None and indent > arg_indent:
            args[current] = f"{args[current]} {line.strip()}".strip()
            continue
        google = None if numpy_style else _GOOGLE_ARG.match(line)
        numpy = _NUMPY_ARG.match(line) if numpy_style else None
        if google:
            current, arg_indent = google.group(1), indent
            args[current] = google.group(2).strip()
        elif numpy:
            current, arg_indent = numpy.group(1), indent
            args[current] = ""
    text = "\n".join(description).strip()
    return re.sub(r"\s*\n\s*\n\s*", "\n\n", text), args


# ------------------------------------------------------------------ signature


@attrs.frozen(slots=True)
class Param:
    """One parameter the model fills in (the ToolContext parameter is not one)."""

    name: str
    annotation: Any
    default: Any
    positional_only: bool


def _is_context(annotation: Any) -> bool:
    if annotation is ToolContext:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and args[0] is ToolContext
    return False


def _unresolved_parameter(fn: Callable[..., Any]) -> str:
    """``, parameter 'x'`` for the first parameter whose hint does not resolve."""
    namespace = dict(getattr(fn, "__globals__", {}))
    for p in inspect.signature(fn).parameters.values():
        if isinstance(p.annotation, str):
            try:
                eval(p.annotation, namespace)
            except Exception:
                return f", parameter {p.name!r}"
    return ""


def signature(fn: Callable[..., Any], tool_name: str) -> tuple[list[Param], str | None]:
    """The schema parameters of ``fn`` and the name of its ToolContext parameter.

    Raises :class:`ToolError` naming the function and the parameter for what
    cannot be described to a model: a missing or unresolvable hint, ``*args``.
    """
    qualname = getattr(fn, "__qualname__", repr(fn))
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ToolError(
            f"tool {tool_name!r} ({qualname}){_unresolved_parameter(fn)}: cannot resolve the "
            f"type hint ({exc}); define the type at module level"
        ) from exc
    params: list[Param] = []
    context_name: str | None = None
    for p in inspect.signature(fn).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise ToolError(
                f"tool {tool_name!r} ({qualname}), parameter {p.name!r}: *args and **kwargs "
                "cannot be described to the model; declare each argument"
            )
        if p.name not in hints:
            raise ToolError(
                f"tool {tool_name!r} ({qualname}), parameter {p.name!r}: missing type hint; "
                "annotate it (str, int, float, bool, list[...], a pydantic model, ...)"
            )
        annotation = hints[p.name]
        if _is_context(annotation):
            context_name = p.name
            continue
        default = ... if p.default is inspect.Parameter.empty else p.default
        params.append(Param(p.name, annotation, default, p.kind is p.POSITIONAL_ONLY))
    return params, context_name


# --------------------------------------------------------------------- schema

_SCALARS: tuple[object, ...] = (str, int, float, bool, type(None))
_CONTAINERS: tuple[object, ...] = (
    list,
    dict,
    set,
    frozenset,
    tuple,
    collections.abc.Sequence,
    collections.abc.Mapping,
    typing.Union,
    types.UnionType,
)


def plainly_describable(annotation: Any) -> bool:
    """True for hints pydantic always describes: JSON scalars, Enums, Literals of
    scalars, and unions and containers of those. Anything else (a pydantic
    model, ``Annotated``, a class of the user's) is checked when the tool is
    defined, not later."""
    if annotation in _SCALARS or annotation is Ellipsis:
        return True
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return True
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return all(arg is None or isinstance(arg, str | int | bool) for arg in args)
    if origin in _CONTAINERS:
        return all(plainly_describable(arg) for arg in args)
    return False


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's generated ``title`` keys: noise to the model."""
    if isinstance(schema, dict):
        return {
            k: _strip_titles(v)
            for k, v in schema.items()
            if not (k == "title" and isinstance(v, str))
        }
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    return schema


def build_arguments_model(
    tool_name: str, qualname: str, params: list[Param], docs: dict[str, str]
) -> tuple[type[pydantic.BaseModel], dict[str, Any]]:
    """The pydantic model that validates a call's arguments, and its JSON schema."""
    import pydantic

    fields: dict[str, Any] = {}
    for param in params:
        try:
            pydantic.TypeAdapter(param.annotation).json_schema()
        except Exception as exc:
            raise ToolError(
                f"tool {tool_name!r} ({qualname}), parameter {param.name!r}: type "
                f"{param.annotation!r} cannot be described as JSON schema; use str, int, "
                "float, bool, list, dict, Literal, Enum, or a pydantic model"
            ) from exc
        field = pydantic.Field(default=param.default, description=docs.get(param.name) or None)
        fields[param.name] = (param.annotation, field)
    try:
        model = pydantic.create_model(
            f"{tool_name}_arguments",
            __config__=pydantic.ConfigDict(extra="forbid", arbitrary_types_allowed=False),
            **fields,
        )
        schema = _strip_titles(model.model_json_schema())
    except Exception as exc:
        raise ToolError(
            f"tool {tool_name!r} ({qualname}): cannot build its schema ({exc})"
        ) from exc
    schema.setdefault("properties", {})
    schema.pop("additionalProperties", None)
    return model, schema


def describe_validation_error(exc: pydantic.ValidationError) -> str:
    """One line naming each bad field and what is wrong with it."""
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems)


__all__ = [
    "Param",
    "build_arguments_model",
    "describe_validation_error",
    "parse_docstring",
    "plainly_describable",
    "signature",
]
