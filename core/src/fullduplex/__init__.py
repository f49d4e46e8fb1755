"""fullduplex: realtime speech-to-speech agents.

The names below are the public API. Importing this package is cheap: each name
is imported from its module on first access (module ``__getattr__``), so
``import fullduplex`` pulls in neither websockets, numpy, sounddevice, soxr
nor pydantic. Plugin-provided classes come from ``fullduplex.models``,
``fullduplex.io`` and ``fullduplex.tools``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .agent import BidiAgent
    from .errors import (
        ConfigurationError,
        DuplicateRegistrationError,
        EventError,
        FullDuplexError,
        IOChannelError,
        ModelAuthenticationError,
        ModelConnectionError,
        ModelError,
        ModelProtocolError,
        ModelTimeoutError,
        NotRegisteredError,
        PluginError,
        ToolError,
    )
    from .events import (
        BidiAudioInputEvent,
        BidiAudioStreamEvent,
        BidiAudioTruncateEvent,
        BidiConnectionCloseEvent,
        BidiConnectionRestartEvent,
        BidiConnectionStartEvent,
        BidiErrorEvent,
        BidiImageInputEvent,
        BidiInputEvent,
        BidiInterruptionEvent,
        BidiLatencyEvent,
        BidiOutputEvent,
        BidiResponseCancelEvent,
        BidiResponseCompleteEvent,
        BidiResponseStartEvent,
        BidiSpeechEvent,
        BidiTextInputEvent,
        BidiToolCancelEvent,
        BidiTranscriptStreamEvent,
        BidiTurnMetricsEvent,
        BidiUsageEvent,
        ToolResultEvent,
        ToolUseStreamEvent,
        event_from_dict,
    )
    from .hookspecs import hookimpl
    from .io import BidiInput, BidiOutput
    from .lookup import (
        get_io,
        get_model,
        get_tool,
        list_plugins,
    )
    from .model import BidiModel, ModelCapabilities
    from .tools import (
        ToolContext,
        stop_conversation,
        tool,
    )

#: public name -> the submodule that defines it
_LAZY: dict[str, str] = {
    "BidiAgent": "agent",
    "hookimpl": "hookspecs",
    "tool": "tools",
    "ToolContext": "tools",
    "stop_conversation": "tools",
    "get_model": "lookup",
    "get_io": "lookup",
    "get_tool": "lookup",
    "list_plugins": "lookup",
    "BidiModel": "model",
    "ModelCapabilities": "model",
    "BidiInput": "io",
    "BidiOutput": "io",
    "event_from_dict": "events",
    "BidiInputEvent": "events",
    "BidiOutputEvent": "events",
    **dict.fromkeys(
        (
            "BidiTextInputEvent",
            "BidiAudioInputEvent",
            "BidiImageInputEvent",
            "BidiAudioTruncateEvent",
            "BidiResponseCancelEvent",
            "ToolResultEvent",
            "BidiConnectionStartEvent",
            "BidiConnectionRestartEvent",
            "BidiConnectionCloseEvent",
            "BidiResponseStartEvent",
            "BidiAudioStreamEvent",
            "BidiTranscriptStreamEvent",
            "BidiInterruptionEvent",
            "BidiSpeechEvent",
            "BidiResponseCompleteEvent",
            "BidiUsageEvent",
            "BidiLatencyEvent",
            "BidiTurnMetricsEvent",
            "BidiErrorEvent",
            "ToolUseStreamEvent",
            "BidiToolCancelEvent",
        ),
        "events",
    ),
    **dict.fromkeys(
        (
            "FullDuplexError",
            "ConfigurationError",
            "EventError",
            "PluginError",
            "DuplicateRegistrationError",
            "NotRegisteredError",
            "ToolError",
            "ModelError",
            "ModelAuthenticationError",
            "ModelProtocolError",
            "ModelConnectionError",
            "ModelTimeoutError",
            "IOChannelError",
        ),
        "errors",
    ),
}

__all__ = [
    "BidiAgent",
    "BidiAudioInputEvent",
    "BidiAudioStreamEvent",
    "BidiAudioTruncateEvent",
    "BidiConnectionCloseEvent",
    "BidiConnectionRestartEvent",
    "BidiConnectionStartEvent",
    "BidiErrorEvent",
    "BidiImageInputEvent",
    "BidiInput",
    "BidiInputEvent",
    "BidiInterruptionEvent",
    "BidiLatencyEvent",
    "BidiModel",
    "BidiOutput",
    "BidiOutputEvent",
    "BidiResponseCancelEvent",
    "BidiResponseCompleteEvent",
    "BidiResponseStartEvent",
    "BidiSpeechEvent",
    "BidiTextInputEvent",
    "BidiToolCancelEvent",
    "BidiTranscriptStreamEvent",
    "BidiTurnMetricsEvent",
    "BidiUsageEvent",
    "ConfigurationError",
    "DuplicateRegistrationError",
    "EventError",
    "FullDuplexError",
    "IOChannelError",
    "ModelAuthenticationError",
    "ModelCapabilities",
    "ModelConnectionError",
    "ModelError",
    "ModelProtocolError",
    "ModelTimeoutError",
    "NotRegisteredError",
    "PluginError",
    "ToolContext",
    "ToolError",
    "ToolResultEvent",
    "ToolUseStreamEvent",
    "__version__",
    "event_from_dict",
    "get_io",
    "get_model",
    "get_tool",
    "hookimpl",
    "list_plugins",
    "stop_conversation",
    "tool",
]


def __getattr__(name: str) -> object:
    """Import a public name from its submodule on first use, then keep it here."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module_name}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
