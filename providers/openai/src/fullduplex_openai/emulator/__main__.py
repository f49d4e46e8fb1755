"""``python -m fullduplex_openai.emulator``: the same as ``fullduplex emulator``."""

from __future__ import annotations

from .cli import emulator_command

if __name__ == "__main__":
    emulator_command(prog_name="fullduplex emulator")
