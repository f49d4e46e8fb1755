"""The ``text`` entry point: registers the terminal channel (by reference: the
channel's module is imported on first use, not when the plugins load)."""

from __future__ import annotations

from fullduplex.hookspecs import RegisterIO, hookimpl


@hookimpl
def register_io(register: RegisterIO) -> None:
    """``text``: standard input and output."""
    register("text", f"{__package__}.text_io:BidiTextIO")
