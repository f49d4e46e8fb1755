"""Tools the model can call: the ``@tool`` decorator, tool specs, and running a call.

``@tool`` turns a plain or ``async`` function into an :class:`AgentTool`. Its
JSON schema comes from the type hints and the docstring's argument
descriptions (Google ``Args:`` or numpy ``Parameters`` sections), built with
pydantic once, when the tool is defined, so a bad signature fails at import
time with a :class:`~fullduplex.errors.ToolError` naming the function and the
parameter, never in the middle of a conversation.

At call time the model's arguments are validated against that schema; bad
arguments, an exception in the tool or a timeout become an error result the
model reads (``{"error": "..."}``) and the conversation goes on.

pydantic is imported only when a tool with parameters is defined, so
``import fullduplex`` stays light (``stop_conversation`` takes none).

A tool may declare a parameter annotated :class:`ToolContext` (left out of
the schema) to reach the agent, its call id, per-call state, and
``request_stop()``.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import functools
import inspect
import json
import math
import re
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

import attrs

from .errors import ToolError
from .events import ToolResultEvent, ToolStatus

if TYPE_CHECKING:
    import pydantic

    from .agent import BidiAgent


@attrs.frozen(slots=True)
class ToolSpec:
    """What a provider tells the model about one tool.

    ``parameters`` is a JSON-schema object (``{"type": "object", "properties":
    ..., "required": [...]}``), as providers send it on the wire.
    """

    name: str
    description: str
    parameters: dict[str, Any]


@attrs.frozen(slots=True)
class ToolCall:
    """One call the model asked for.

    ``arguments`` is the parsed object; ``raw_arguments`` the JSON text the
    model produced (kept for logs and for replay).
    """

    call_id: str
    name: str
    arguments: dict[str, Any] = attrs.field(factory=dict)
    raw_arguments: str = ""
    response_id: str | None = None

    @classmethod
    def from_model(
        cls,
        call_id: str,
        name: str,
        arguments: str | Mapping[str, Any] | None,
        response_id: str | None = None,
    ) -> ToolCall:
        """Build a call from the model's arguments, JSON text or a mapping.

        Text that is not a JSON object is kept in ``raw_arguments`` with empty
        ``arguments``; :meth:`AgentTool.invoke` then reports the problem to the
        model.
        """
        if isinstance(arguments, Mapping):
            return cls(call_id, name, dict(arguments), json.dumps(arguments), response_id)
        raw = arguments or ""
        parsed: Any = None
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            parsed = None
        return cls(call_id, name, parsed if isinstance(parsed, dict) else {}, raw, response_id)


@attrs.frozen(slots=True)
class ToolVeto:
    """Returned by a ``before_tool_call`` hook to refuse a call; ``reason`` goes to the model."""

    reason: str


class ToolContext:
    """What a running tool may know and do besides its arguments.

    ``state`` is a dict private to this one invocation (hooks can share it
    with the tool through ``before_tool_call``/``after_tool_call``).
    ``request_stop()`` asks the agent to end the conversation once this tool
    has answered; it is safe from any thread (sync tools run in one).
    """

    __slots__ = ("_loop", "_on_stop", "agent", "call_id", "state", "stop_requested", "tool_name")

    def __init__(
        self,
        agent: BidiAgent | None,
        call_id: str,
        tool_name: str,
        state: dict[str, Any] | None = None,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.agent = agent
        self.call_id = call_id
        self.tool_name = tool_name
        self.state: dict[str, Any] = {} if state is None else state
        self.stop_requested = False
        self._on_stop = on_stop
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def request_stop(self) -> None:
        """Ask the agent to stop the conversation after this call."""
        self.stop_requested = True
        callback = self._on_stop
        if callback is None:
            return
        loop = self._loop
        if loop is None or _running_loop() is loop:
            callback()
        else:
            loop.call_soon_threadsafe(callback)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


# ------------------------------------------------------------------ docstrings

_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?|"
    r"See Also|Attributes|Warnings?|References)\s*:?\s*$"
)
_GOOGLE_ARG = re.compile(r"^\s*\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ARG = re.compile(r"^\s*(\w+)\s*(?::.*)?$")


def _parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
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


# ---------------------------------------------------------------------- schema


@attrs.frozen(slots=True)
class _Param:
    name: str
    annotation: Any
    default: Any
    positional_only: bool


def _is_context(annotation: Any) -> bool:
    if annotation is ToolContext:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
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


def _signature(fn: Callable[..., Any], tool_name: str) -> tuple[list[_Param], str | None]:
    """The schema parameters of ``fn`` and the name of its ToolContext parameter."""
    qualname = getattr(fn, "__qualname__", repr(fn))
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise ToolError(
            f"tool {tool_name!r} ({qualname}){_unresolved_parameter(fn)}: cannot resolve the "
            f"type hint ({exc}); define the type at module level"
        ) from exc
    params: list[_Param] = []
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
        params.append(_Param(p.name, annotation, default, p.kind is p.POSITIONAL_ONLY))
    return params, context_name


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


def _build_model(
    tool_name: str, qualname: str, params: list[_Param], docs: dict[str, str]
) -> tuple[type[pydantic.BaseModel], dict[str, Any]]:
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


def _describe_validation_error(exc: pydantic.ValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems)


# ---------------------------------------------------------------------- results


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


# ------------------------------------------------------------------------ tools


class AgentTool:
    """A function the model can call, with its spec and how to run it.

    Calling the object calls the function unchanged (``calculator("2+2")``);
    the agent uses :meth:`invoke`.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout_s: float | None = None,
        cancel_on_interruption: bool = False,
    ) -> None:
        if not callable(fn):
            raise ToolError(f"@tool needs a function, got {type(fn).__name__}")
        tool_name: str = name or str(getattr(fn, "__name__", ""))
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool_name or ""):
            raise ToolError(
                f"tool name {tool_name!r}: use 1-64 letters, digits, '_' or '-' "
                "(what providers accept)"
            )
        if timeout_s is not None and (
            not isinstance(timeout_s, int | float)
            or isinstance(timeout_s, bool)
            or not timeout_s > 0
        ):
            raise ToolError(
                f"tool {tool_name!r}: timeout_s: got {timeout_s!r}; accepted: a positive "
                "number of seconds or None"
            )
        qualname = str(getattr(fn, "__qualname__", tool_name))
        summary, arg_docs = _parse_docstring(fn.__doc__)
        params, context_name = _signature(fn, tool_name)
        self.fn = fn
        self.name = tool_name
        self.description = description if description is not None else summary
        self.timeout_s = timeout_s
        self.cancel_on_interruption = cancel_on_interruption
        self.context_parameter = context_name
        self.is_async = inspect.iscoroutinefunction(fn)
        self._params = params
        self._model: type[pydantic.BaseModel] | None = None
        if params:
            self._model, schema = _build_model(tool_name, qualname, params, arg_docs)
        else:
            schema = {"type": "object", "properties": {}}
        self.spec = ToolSpec(tool_name, self.description, schema)
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<AgentTool {self.name}>"

    def validate(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Check arguments against the schema; return the call's (args, kwargs).

        Raises ``ValueError`` with a message naming each bad field.
        """
        if self._model is None:
            if arguments:
                extra = ", ".join(sorted(arguments))
                raise ValueError(f"{extra}: unexpected argument; this tool takes none")
            return [], {}
        import pydantic

        try:
            validated = self._model.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            raise ValueError(_describe_validation_error(exc)) from None
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for param in self._params:
            value = getattr(validated, param.name)
            if param.positional_only:
                args.append(value)
            else:
                kwargs[param.name] = value
        return args, kwargs

    async def invoke(self, call: ToolCall, context: ToolContext | None = None) -> ToolResultEvent:
        """Run one call: validate, run (sync functions in a thread), time out, report.

        Never raises for the tool's own failures: they become error results.
        Cancellation propagates (the agent records it as a cancelled result).
        """
        arguments: Mapping[str, Any] = call.arguments
        if not arguments and call.raw_arguments.strip():
            try:
                parsed = json.loads(call.raw_arguments)
            except ValueError as exc:
                return error_result(call, f"arguments are not valid JSON ({exc})")
            if not isinstance(parsed, dict):
                return error_result(
                    call, f"arguments must be a JSON object, got {type(parsed).__name__}"
                )
            arguments = parsed
        try:
            args, kwargs = self.validate(arguments)
        except ValueError as exc:
            return error_result(call, f"invalid arguments for tool {self.name!r}: {exc}")
        if self.context_parameter is not None:
            kwargs[self.context_parameter] = context or ToolContext(None, call.call_id, self.name)
        try:
            async with asyncio.timeout(self.timeout_s):
                if self.is_async:
                    value = await self.fn(*args, **kwargs)
                else:
                    value = await asyncio.to_thread(self.fn, *args, **kwargs)
                    if inspect.isawaitable(value):
                        value = await value
        except TimeoutError:
            return error_result(call, f"tool {self.name!r} timed out after {self.timeout_s:g} s")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return error_result(call, f"tool {self.name!r} failed: {type(exc).__name__}: {exc}")
        if isinstance(value, ToolResultEvent):
            return value
        try:
            content = result_content(value)
        except (TypeError, ValueError) as exc:
            return error_result(
                call, f"tool {self.name!r} returned a value not JSON-encodable ({exc})"
            )
        return ToolResultEvent(call.call_id, self.name, content, "success", call.response_id)


@overload
def tool(fn: Callable[..., Any], /) -> AgentTool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    cancel_on_interruption: bool = False,
) -> Callable[[Callable[..., Any]], AgentTool]: ...


def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout_s: float | None = None,
    cancel_on_interruption: bool = False,
) -> AgentTool | Callable[[Callable[..., Any]], AgentTool]:
    """Make a function a tool; use bare (``@tool``) or with options (``@tool(...)``).

    ``timeout_s`` bounds one call (the model gets an error result when it
    passes); ``cancel_on_interruption`` cancels running calls when the user
    barges in.
    """

    def make(function: Callable[..., Any]) -> AgentTool:
        return AgentTool(
            function,
            name=name,
            description=description,
            timeout_s=timeout_s,
            cancel_on_interruption=cancel_on_interruption,
        )

    if fn is not None:
        return make(fn)
    return make


def as_tools(tools: Iterable[AgentTool | Callable[..., Any] | str] | None) -> list[AgentTool]:
    """Normalise an agent's ``tools=``: AgentTools, plain functions, or registered names.

    Raises :class:`ToolError` when two tools share a name.
    """
    result: list[AgentTool] = []
    seen: dict[str, AgentTool] = {}
    for item in tools or ():
        if isinstance(item, AgentTool):
            agent_tool = item
        elif isinstance(item, str):
            from .registry import get_tool

            agent_tool = get_tool(item)
        elif callable(item):
            agent_tool = AgentTool(item)
        else:
            raise ToolError(
                f"tools: expected a @tool function, a plain function or a registered tool "
                f"name, got {type(item).__name__}"
            )
        if agent_tool.name in seen:
            raise ToolError(f"tools: two tools are named {agent_tool.name!r}; names must be unique")
        seen[agent_tool.name] = agent_tool
        result.append(agent_tool)
    return result


# -------------------------------------------------------------- built-in tools


@tool
async def stop_conversation(context: ToolContext) -> str:
    """Stop the conversation and close the connection.

    Call this when the user says goodbye or asks to stop, end or hang up.
    """
    context.request_stop()
    return "Stopping the conversation."


def __getattr__(name: str) -> Any:
    """Resolve plugin-provided tools (``calculator``...) through the registry."""
    from .registry import resolve_export

    return resolve_export("tools", name, __name__)


__all__ = [
    "AgentTool",
    "ToolCall",
    "ToolContext",
    "ToolSpec",
    "ToolVeto",
    "as_tools",
    "error_result",
    "result_content",
    "stop_conversation",
    "tool",
]
