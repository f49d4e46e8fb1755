"""The core's own plugin (entry point ``core``): what ships with ``fullduplex`` itself.

It registers through the same hooks as any third-party plugin, so the bundled
parts show up in ``fullduplex plugins`` and the registry like everything else.
"""

from __future__ import annotations

from .hookspecs import RegisterTool, hookimpl


@hookimpl
def register_tools(register: RegisterTool) -> None:
    """Register ``stop_conversation``, the tool a model calls to end the conversation."""
    # By reference: the tools module is imported when the tool is first used,
    # not when the plugins load (``fullduplex plugins`` never needs it).
    register("fullduplex.tools:stop_conversation")
