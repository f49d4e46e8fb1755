"""``python -m fullduplex_gemini.emulator``: ``fullduplex emulator --provider gemini``."""

from __future__ import annotations

from .cli import emulator_command

if __name__ == "__main__":
    emulator_command()
