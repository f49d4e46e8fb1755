"""Tool overhead: ``function_call_arguments.done`` on the wire -> ``function_call_output`` back.

The benchmark server (its own process, CPU 1) answers each request with a
function call to ``bench_tool``, stamping ``time.monotonic_ns()`` just before
writing ``response.function_call_arguments.done``, and stamps the arrival of the
``function_call_output`` item. The client (its own process, CPU 0) is a
``BidiAgent`` with a ``@tool`` that stamps its own start and end; the overhead
is the round trip less the tool's own time. The ``floor`` is a bare websockets
client that answers the call as soon as it parses ``arguments.done`` (its tool
time is zero): two loopback hops, a parse and a send. The ``mcp`` variant is the
same agent whose ``bench_tool`` lives on an MCP server (``_bench_mcp_server.py``,
a stdio subprocess reached through ``fullduplex-mcp``); its tool time is the
server-side body, so ``mcp`` less ``agent`` is what an MCP call costs over a
local tool (JSON-RPC over a pipe to another process and back, result mapping).

Prints JSON; asserts nothing.

    .venv/bin/python benchmarks/tool_overhead.py [--quick] [--calls 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

from _common import (
    bare_session,
    command,
    emit,
    floor_and_agent,
    make_model,
    percentile,
    pin,
    quantiles,
    rnd,
    user_message,
)


async def _floor_client(url: str, count: int) -> list[int]:
    import orjson

    async with bare_session(url) as ws:
        create = user_message(command("tool"))
        for _ in range(count):
            await ws.send(create)
            await ws.send(json.dumps({"type": "response.create"}))
            done = 0
            while done < 2:
                event = orjson.loads(await ws.recv(decode=False))
                kind = event["type"]
                if kind == "response.function_call_arguments.done":
                    output = {
                        "type": "conversation.item.create",
                        "item": {
                            "type": "function_call_output",
                            "call_id": event["call_id"],
                            "output": "1",
                        },
                    }
                    await ws.send(orjson.dumps(output), text=True)
                    await ws.send(b'{"type":"response.create"}', text=True)
                elif kind == "response.done":
                    done += 1
    return [0] * count


async def _agent_client(base_url: str, count: int) -> list[int]:
    from fullduplex import BidiAgent, tool
    from fullduplex.events import BidiResponseCompleteEvent

    own: list[int] = []

    @tool
    async def bench_tool(n: int) -> str:
        """Return n (the benchmark's tool; it stamps its own run time)."""
        start = time.monotonic_ns()
        result = str(n)
        own.append(time.monotonic_ns() - start)
        return result

    async with BidiAgent(make_model(base_url), tools=[bench_tool]) as agent:
        for _ in range(count):
            await agent.send(command("tool"))
            completed = 0
            async for event in agent.receive():
                if type(event) is BidiResponseCompleteEvent:
                    completed += 1
                    if completed == 2:
                        break
    return own


async def _mcp_client(base_url: str, count: int) -> list[int]:
    import json as _json
    import sys
    from pathlib import Path

    from fullduplex import BidiAgent
    from fullduplex.events import BidiResponseCompleteEvent, ToolResultEvent
    from fullduplex.tools import AgentTool
    from fullduplex_mcp import MCPTools

    own: list[int] = []
    server = str(Path(__file__).with_name("_bench_mcp_server.py"))
    async with MCPTools.stdio(sys.executable, [server]) as mcp:
        tools: list[AgentTool] = list(mcp.tools)
        async with BidiAgent(make_model(base_url), tools=tools) as agent:
            for _ in range(count):
                await agent.send(command("tool"))
                completed = 0
                async for event in agent.receive():
                    if type(event) is ToolResultEvent:
                        own.append(int(_json.loads(event.content)["own_ns"]))
                    elif type(event) is BidiResponseCompleteEvent:
                        completed += 1
                        if completed == 2:
                            break
    return own


def _summary(server: dict[str, Any], own: list[int]) -> dict[str, Any]:
    pairs = server["tool_calls"]
    overhead = [
        (received - sent - tool_ns) / 1e6
        for (sent, received), tool_ns in zip(pairs, own, strict=False)
        if received is not None
    ]
    return {
        "calls": len(pairs),
        "answered": len(overhead),
        "tool_own_time_ms_median": rnd(percentile([t / 1e6 for t in own], 0.5), 4),
        **quantiles("overhead_ms", overhead),
    }


def main(count: int, quick: bool) -> None:
    results = floor_and_agent(
        __file__,
        "--calls",
        count,
        lambda stats, client: _summary(stats, client["own"]),
        variants=("floor", "agent", "mcp"),
    )
    agent, mcp = results["agent"], results["mcp"]
    if agent.get("overhead_ms_p50") is not None and mcp.get("overhead_ms_p50") is not None:
        results["mcp_minus_local_ms_p50"] = rnd(mcp["overhead_ms_p50"] - agent["overhead_ms_p50"])
    emit({"benchmark": "tool_overhead", "quick": quick, "results": results})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 calls")
    parser.add_argument("--calls", type=int, default=None, help="how many (1000)")
    parser.add_argument("--client", choices=("floor", "agent", "mcp"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    options = parser.parse_args()
    count = options.calls or (200 if options.quick else 1000)
    if options.client:
        pin(0)
        runner = {"floor": _floor_client, "agent": _agent_client, "mcp": _mcp_client}[
            options.client
        ]
        print(json.dumps({"own": asyncio.run(runner(options.url, count))}))
    else:
        main(count, options.quick)
