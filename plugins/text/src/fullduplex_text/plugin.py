"""The ``text`` entry point: registers the terminal channel."""

from __future__ import annotations

from fullduplex.hookspecs import RegisterIO, hookimpl


@hookimpl
def register_io(register: RegisterIO) -> None:
    """``text``: standard input and output."""
    from .text_io import BidiTextIO

    register("text", BidiTextIO)
