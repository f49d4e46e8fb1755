"""The entry point module: registers the ``jsonl`` IO channel.

It names the channel by reference, so loading the plugin imports nothing
else: ``fullduplex plugins`` stays fast, and the channel's module is imported
on first use.
"""

from __future__ import annotations

from fullduplex.hookspecs import RegisterIO, hookimpl


@hookimpl
def register_io(register: RegisterIO) -> None:
    """``jsonl``: also importable as ``fullduplex.io.BidiJsonlIO``."""
    register("jsonl", "fullduplex_jsonl.jsonl_io:BidiJsonlIO")
