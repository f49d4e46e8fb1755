"""``@tool`` and :class:`AgentTool`: a function the model can call, and running one call.

This module is the tool machinery and knows nothing of plugins: the registry
wraps a plain function a plugin registers with :func:`tool` from here, and
:mod:`fullduplex.tools` (which also resolves tools by registered name) sits
above the registry. So there is no import circle between them.

A tool is cheap to define: the signature is checked at once (every parameter
typed, hints resolvable, no ``*args``: a :class:`~fullduplex.errors.ToolError`
naming the function and the parameter), but the pydantic model behind the
JSON schema is built on first use of :attr:`AgentTool.spec` or of a call,
so importing a module of tools -- or listing them -- imports no pydantic.
A hint pydantic might refuse (see
:func:`~fullduplex.tool_schema.plainly_describable`) is checked at definition
time all the same, never in the middle of a conversation.

At call time the model's arguments are validated against that schema; bad
arguments, an exception in the tool or a timeout become an error result the
model reads (``{"error": "..."}``) and the conversation goes on.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, overload

from .errors import ToolError
from .tool_schema import (
    build_arguments_model,
    describe_validation_error,
    parse_docstring,
    plainly_describable,
    signature,
)
from .tool_types import ToolCall, ToolContext, ToolSpec

if TYPE_CHECKING:
    import pydantic

    from .events import ToolResultEvent

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}


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
        if not _NAME.fullmatch(tool_name or ""):
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
        summary, arg_docs = parse_docstring(fn.__doc__)
        params, context_name = signature(fn, tool_name)
        self.fn = fn
        self.name = tool_name
        self.description = description if description is not None else summary
        self.timeout_s = timeout_s
        self.cancel_on_interruption = cancel_on_interruption
        self.context_parameter = context_name
        self.is_async = inspect.iscoroutinefunction(fn)
        self._params = params
        self._arg_docs = arg_docs
        self._qualname = str(getattr(fn, "__qualname__", tool_name))
        self._model: type[pydantic.BaseModel] | None = None
        self._spec: ToolSpec | None = None
        if not params:
            self._spec = ToolSpec(tool_name, self.description, dict(_NO_PARAMETERS))
        elif not all(plainly_describable(param.annotation) for param in params):
            self._build_schema()  # a type pydantic may refuse fails here, where it is defined
        functools.update_wrapper(self, fn)

    def _build_schema(self) -> ToolSpec:
        """Build the arguments model and the spec (once; a race builds an equal one)."""
        model, schema = build_arguments_model(
            self.name, self._qualname, self._params, self._arg_docs
        )
        spec = ToolSpec(self.name, self.description, schema)
        self._model, self._spec = model, spec
        return spec

    @property
    def spec(self) -> ToolSpec:
        """What the model is told about this tool (its JSON schema built on first use)."""
        spec = self._spec
        return spec if spec is not None else self._build_schema()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<AgentTool {self.name}>"

    def validate(self, arguments: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Check arguments against the schema; return the call's (args, kwargs).

        Raises ``ValueError`` with a message naming each bad field.
        """
        if not self._params:
            if arguments:
                extra = ", ".join(sorted(arguments))
                raise ValueError(f"{extra}: unexpected argument; this tool takes none")
            return [], {}
        if self._model is None:
            self._build_schema()
        model = self._model
        assert model is not None  # built just above
        import pydantic

        try:
            validated = model.model_validate(dict(arguments))
        except pydantic.ValidationError as exc:
            raise ValueError(describe_validation_error(exc)) from None
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
        # Imported on the first call, not with the module: defining a tool (as a
        # plugin module does at import) needs neither asyncio nor the events.
        import asyncio

        from .events import ToolResultEvent
        from .tool_results import error_result, result_content

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
        except ToolError as exc:  # a schema that could not be built: the model hears why
            return error_result(call, str(exc))
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


__all__ = ["AgentTool", "tool"]
