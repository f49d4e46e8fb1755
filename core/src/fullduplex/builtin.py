"""The core's own plugin (entry point ``core``): what ships with ``fullduplex`` itself.

It registers through the same hooks as any third-party plugin, so the bundled
parts show up in ``fullduplex plugins`` and the registry like everything else.
"""

from __future__ import annotations

from .hookspecs import RegisterTool, hookimpl


@hookimpl
def register_tools(register: RegisterTool) -> None:
    """Register ``stop_conversation``, the tool a model calls to end the conversation."""
    # Imported here: the tools module brings pydantic, which plain plugin listing does not need.
    from .tools import stop_conversation

    register(stop_conversation)
