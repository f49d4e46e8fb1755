"""The entry point module: registers the ``jsonl`` IO channel.

It imports the channel inside the hook, so listing plugins stays cheap.
"""

from __future__ import annotations

from fullduplex.hookspecs import RegisterIO, hookimpl


@hookimpl
def register_io(register: RegisterIO) -> None:
    """``jsonl``: also importable as ``fullduplex.io.BidiJsonlIO``."""
    from .jsonl_io import BidiJsonlIO

    register("jsonl", BidiJsonlIO)
