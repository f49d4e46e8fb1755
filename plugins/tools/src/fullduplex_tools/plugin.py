"""Registers the bundled tools with fullduplex, like any third-party plugin would."""

from __future__ import annotations

from fullduplex.hookspecs import RegisterTool, hookimpl

from .calculator import calculator
from .current_time import current_time


@hookimpl
def register_tools(register: RegisterTool) -> None:
    register(calculator)
    register(current_time)
