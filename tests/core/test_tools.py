"""@tool: schemas from hints and docstrings, validated calls, errors as results."""

from __future__ import annotations

import asyncio
import enum
import json
import subprocess
import sys
import threading
from typing import Literal

import pydantic
import pytest

from fullduplex.errors import ToolError
from fullduplex.tools import (
    AgentTool,
    ToolCall,
    ToolContext,
    ToolSpec,
    as_tools,
    stop_conversation,
    tool,
)


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


class Place(pydantic.BaseModel):
    city: str
    country: str = "NL"


@tool
def weather(place: Place, unit: Unit = Unit.C, days: int = 1) -> dict[str, object]:
    """Get the weather forecast.

    Looks it up in the almanac.

    Args:
        place: where to look.
        unit (Unit): the temperature unit,
            celsius or fahrenheit.
        days: how many days ahead.

    Returns:
        The forecast.
    """
    return {"city": place.city, "unit": unit.value, "days": days}


def call(name: str, arguments: object) -> ToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall.from_model("call_1", name, raw, "resp_1")


def test_schema_from_hints_and_google_docstring() -> None:
    spec = weather.spec
    assert isinstance(spec, ToolSpec)
    assert spec.name == "weather"
    assert spec.description == "Get the weather forecast.\n\nLooks it up in the almanac."
    params = spec.parameters
    assert params["type"] == "object"
    assert params["required"] == ["place"]
    props = params["properties"]
    assert props["unit"]["description"] == "the temperature unit, celsius or fahrenheit."
    assert props["days"] == {"type": "integer", "default": 1, "description": "how many days ahead."}
    assert "Place" in json.dumps(params)  # the nested model is described
    json.dumps(params)  # providers send it as JSON


def test_numpy_docstring_and_options() -> None:
    @tool(name="set_mode", description="Switch modes.", timeout_s=2, cancel_on_interruption=True)
    async def mode(value: Literal["fast", "slow"], reason: str | None = None) -> str:
        """Ignored summary.

        Parameters
        ----------
        value : str
            The mode
            to use.
        reason : str, optional
            Why.
        """
        return value

    assert mode.name == "set_mode"
    assert mode.spec.description == "Switch modes."
    assert mode.timeout_s == 2
    assert mode.cancel_on_interruption
    props = mode.spec.parameters["properties"]
    assert props["value"]["enum"] == ["fast", "slow"]
    assert props["value"]["description"] == "The mode to use."
    assert props["reason"]["description"] == "Why."


async def test_valid_call_runs_and_non_text_results_are_json() -> None:
    arguments = {"place": {"city": "Delft"}, "unit": "fahrenheit"}
    result = await weather.invoke(call("weather", arguments))
    assert result.status == "success"
    assert result.call_id == "call_1"
    assert result.response_id == "resp_1"
    assert json.loads(result.content) == {"city": "Delft", "unit": "fahrenheit", "days": 1}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, "place: Field required"),
        ({"place": {"city": "x"}, "days": "many"}, "days: Input should be a valid integer"),
        ({"place": {"city": "x"}, "unit": "kelvin"}, "unit: Input should be 'celsius'"),
        ({"place": {}}, "place.city: Field required"),
        ({"place": {"city": "x"}, "extra": 1}, "extra: Extra inputs are not permitted"),
        ("{not json", "arguments are not valid JSON"),
        ("[1, 2]", "arguments must be a JSON object"),
    ],
)
async def test_invalid_arguments_become_an_error_result_naming_the_field(
    arguments: object, expected: str
) -> None:
    result = await weather.invoke(call("weather", arguments))
    assert result.status == "error"
    assert expected in json.loads(result.content)["error"]


async def test_raising_and_timing_out_become_error_results() -> None:
    @tool
    async def broken() -> str:
        """Fails."""
        raise KeyError("missing")

    @tool(timeout_s=0.05)
    async def sleepy() -> str:
        """Too slow."""
        await asyncio.sleep(5)
        return "late"

    failed = await broken.invoke(call("broken", {}))
    assert failed.status == "error"
    assert "KeyError" in json.loads(failed.content)["error"]
    late = await sleepy.invoke(call("sleepy", {}))
    assert json.loads(late.content) == {"error": "tool 'sleepy' timed out after 0.05 s"}


def test_the_tool_stays_callable_as_the_plain_function() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Adds."""
        return a + b

    assert isinstance(add, AgentTool)
    assert add(2, 3) == 5
    assert add.__name__ == "add"
    assert add.__doc__ == "Adds."


async def test_context_parameter_is_hidden_and_given() -> None:
    seen: dict[str, object] = {}

    @tool
    def who(greeting: str, ctx: ToolContext) -> str:
        """Knows its call."""
        seen.update(call_id=ctx.call_id, tool=ctx.tool_name, thread=threading.get_ident())
        ctx.request_stop()
        return greeting

    assert list(who.spec.parameters["properties"]) == ["greeting"]
    stops: list[str] = []
    context = ToolContext(None, "call_1", "who", on_stop=lambda: stops.append("stop"))
    result = await who.invoke(call("who", {"greeting": "hi"}), context)
    await asyncio.sleep(0)  # the stop request crosses back from the worker thread
    assert json.loads(result.content) == "hi"  # strings go as JSON strings
    assert seen["call_id"] == "call_1"
    assert seen["thread"] != threading.get_ident()  # sync tools run in a thread
    assert stops == ["stop"]
    assert context.stop_requested


async def test_stop_conversation_requests_the_stop_and_says_so() -> None:
    assert stop_conversation.spec.parameters == {"type": "object", "properties": {}}
    context = ToolContext(None, "c", "stop_conversation")
    result = await stop_conversation.invoke(call("stop_conversation", ""), context)
    assert context.stop_requested
    assert result.status == "success"
    assert "stop" in result.content.lower()
    refused = await stop_conversation.invoke(call("stop_conversation", {"now": True}))
    assert refused.status == "error"


def test_missing_hint_names_function_and_parameter() -> None:
    def no_hint(city):  # type: ignore[no-untyped-def]
        """Bad."""

    with pytest.raises(ToolError, match=r"no_hint.*parameter 'city': missing type hint"):
        tool(no_hint)


class Opaque:
    """Not describable as JSON schema."""


def test_unsupported_type_names_function_and_parameter() -> None:
    def takes_opaque(count: int, thing: Opaque) -> None:
        """Bad."""

    with pytest.raises(ToolError, match=r"takes_opaque.*parameter 'thing': type"):
        tool(takes_opaque)


def test_unresolvable_hint_names_the_parameter() -> None:
    class Local:
        pass

    def takes_local(count: int, thing: Local) -> None:
        """Bad."""

    with pytest.raises(ToolError, match=r"takes_local.*parameter 'thing': cannot resolve"):
        tool(takes_local)


def test_star_args_are_refused() -> None:
    def varargs(*values: int) -> None:
        """Bad."""

    with pytest.raises(ToolError, match=r"parameter 'values'"):
        tool(varargs)


def test_bad_names_and_duplicates_are_refused() -> None:
    with pytest.raises(ToolError, match="tool name"):
        tool(name="has space")(lambda: None)
    with pytest.raises(ToolError, match="two tools are named 'weather'"):
        as_tools([weather, weather])
    plain = as_tools([weather, lambda_free_function])
    assert [t.name for t in plain] == ["weather", "lambda_free_function"]


def lambda_free_function(x: int) -> int:
    """A plain function becomes a tool when given to an agent."""
    return x


def test_importing_tools_does_not_import_pydantic() -> None:
    code = (
        "import sys, fullduplex.tools as t; "
        "assert t.stop_conversation.spec.name == 'stop_conversation'; "
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("bad", ["5", True, 0, -1.0, float("nan")])
def test_tool_timeout_that_is_not_a_positive_number_names_the_field(bad: object) -> None:
    def slow(x: int) -> int:
        return x

    with pytest.raises(ToolError, match=r"timeout_s"):
        tool(timeout_s=bad)(slow)  # type: ignore[arg-type]


# ------------------------------------------- results are always strict JSON (issue 10, 20)


class _Opaque:
    def __repr__(self) -> str:
        return "<opaque>"


@pytest.mark.parametrize(
    "value",
    [
        float("nan"),
        {"x": float("inf"), "y": [float("-inf")]},
        b"\xff\x00raw",
        b"text bytes",
        _Opaque(),
        {"nested": {"obj": _Opaque(), "b": b"\x80"}},
        {1: "int key"},
        "plain words",
        "NaN",
    ],
)
async def test_any_tool_return_value_becomes_strict_json(value: object) -> None:
    @tool
    def odd() -> object:
        """Returns something JSON cannot hold as it is."""
        return value

    result = await odd.invoke(call("odd", {}))
    assert result.status == "success"
    json.loads(result.content, parse_constant=_no_constants)


def _no_constants(name: str) -> object:
    raise AssertionError(f"{name} is not JSON")


def test_a_string_that_is_json_already_is_kept() -> None:
    from fullduplex.tools import result_content

    assert result_content('{"a": 1}') == '{"a": 1}'
    assert json.loads(result_content("hello")) == "hello"


# ------------------------------------- schemas built on first use (issue 11: fast listing)


def test_defining_a_tool_of_plain_types_imports_no_pydantic_until_its_spec() -> None:
    code = (
        "import sys\n"
        "from typing import Literal\n"
        "from fullduplex.tools import tool\n"
        "@tool\n"
        "def lookup(city: str, days: int = 1, unit: Literal['c', 'f'] = 'c',\n"
        "           tags: list[str] | None = None) -> str:\n"
        "    '''Look something up.\n\n    Args:\n        city: where\n    '''\n"
        "    return city\n"
        "before = 'pydantic' in sys.modules or 'asyncio' in sys.modules\n"
        "spec = lookup.spec\n"
        "print(before, 'pydantic' in sys.modules, spec.parameters['required'],\n"
        "      spec.parameters['properties']['city']['description'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True", "['city']", "where"]


async def test_a_deferred_schema_validates_calls_like_an_eager_one() -> None:
    def add(a: int, b: int = 2) -> int:
        """Add."""
        return a + b

    deferred = tool(add)
    result = await deferred.invoke(call("add", {"a": "x"}))  # first use: a call, not .spec

    assert result.status == "error"
    assert "a:" in result.content
    assert deferred.spec.parameters == {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"default": 2, "type": "integer"}},
        "required": ["a"],
    }
    assert (await deferred.invoke(call("add", {"a": 1}))).content == "3"


def test_a_hint_pydantic_may_refuse_is_still_checked_where_the_tool_is_defined() -> None:
    def takes_opaque(thing: list[Opaque]) -> None:
        """Bad, nested."""

    with pytest.raises(ToolError, match=r"takes_opaque.*parameter 'thing': type"):
        tool(takes_opaque)


def test_result_helpers_stay_importable_from_the_tools_module() -> None:
    from fullduplex import tool_results, tools

    assert tools.result_content is tool_results.result_content
    assert tools.error_result is tool_results.error_result
    with pytest.raises(AttributeError):
        _ = tools._no_such_helper
