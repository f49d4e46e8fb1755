"""A fullduplex IO plugin: typed lines from a file in, the conversation as JSON lines out."""

from .jsonl_io import BidiJsonlIO, JsonlInput, JsonlOutput

__all__ = ["BidiJsonlIO", "JsonlInput", "JsonlOutput"]
