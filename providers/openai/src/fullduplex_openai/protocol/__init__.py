"""The OpenAI Realtime GA wire protocol without I/O, one job per module.

- :mod:`.shapes`: field readers, the event ids we tag requests with, the
  ignored events and error codes;
- :mod:`.client`: every client event we send (session, items, input audio
  frames, truncate, cancel, ``response.create``);
- :mod:`.replay`: a fullduplex history as replay items for a new connection;
- :mod:`.responses`: the response lifecycle state machine;
- :mod:`.server`: :class:`RealtimeProtocol`, the server event handlers and the
  facade the model drives;
- :mod:`.server_errors`: which server errors end the conversation, and how.
"""

from __future__ import annotations

from .responses import DEFAULT_CREATE_TIMEOUT_S, ResponseFlow
from .server import AudioConverter, Events, RealtimeProtocol
from .shapes import IGNORED_EVENTS

__all__ = [
    "DEFAULT_CREATE_TIMEOUT_S",
    "IGNORED_EVENTS",
    "AudioConverter",
    "Events",
    "RealtimeProtocol",
    "ResponseFlow",
]
