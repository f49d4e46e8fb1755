"""Registers the bundled tools with fullduplex, like any third-party plugin would.

By reference: each tool's module is imported when the tool is first used
(``get_tool``, ``BidiAgent(tools=["calculator"])``, ``fullduplex tools``), not
when the plugins load.
"""

from __future__ import annotations

from fullduplex.hookspecs import RegisterTool, hookimpl


@hookimpl
def register_tools(register: RegisterTool) -> None:
    register(f"{__package__}.calculator:calculator")
    register(f"{__package__}.current_time:current_time")
