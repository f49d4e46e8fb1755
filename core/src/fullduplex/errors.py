"""The exceptions fullduplex raises.

One tree, so callers can catch as broadly or narrowly as they need. Errors from
lower layers (websockets, sounddevice, pydantic) are mapped onto it with the
original chained as ``__cause__``::

    FullDuplexError
    ├── ConfigurationError        bad configuration; names the field and what is accepted
    ├── EventError                an event (or its dict form) is malformed
    ├── PluginError               a plugin failed to load or registered badly
    │   └── DuplicateRegistrationError   two plugins claimed one name
    ├── NotRegisteredError        an unknown model / IO / tool name (also a LookupError)
    ├── ToolError                 a tool could not be defined (bad signature, schema)
    ├── ModelError                the model connection failed
    │   ├── ModelAuthenticationError     key refused, beta shape refused, no access: not retried
    │   ├── ModelProtocolError           the peer spoke something we cannot follow: not retried
    │   └── ModelConnectionError         the connection dropped or must be renewed: restartable
    │       ├── ModelTimeoutError        the client-side ``timeout_s`` came due
    │       └── ModelRetriesExhaustedError   the agent gave up reconnecting: not retried
    └── IOChannelError            an input or output channel failed (no device, bad file)

``ModelError.restartable`` tells the agent whether a fresh connection with the
history replayed can carry the conversation on.
"""

from __future__ import annotations


class FullDuplexError(Exception):
    """Base class of every fullduplex error."""


class ConfigurationError(FullDuplexError, ValueError):
    """Invalid configuration. The message names the field and the accepted values."""


class EventError(FullDuplexError, ValueError):
    """An event, or its dict form, is malformed."""


class PluginError(FullDuplexError):
    """A plugin failed to load, or registered something invalid."""


class DuplicateRegistrationError(PluginError):
    """Two plugins registered the same name."""


class NotRegisteredError(FullDuplexError, LookupError):
    """No plugin registered that name; the message lists what is available."""


class ToolError(FullDuplexError):
    """A tool definition is invalid (its signature cannot be described, say)."""


class ModelError(FullDuplexError):
    """The model connection failed.

    ``restartable`` says whether the agent may open a new connection and replay
    the conversation into it.
    """

    restartable: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class ModelAuthenticationError(ModelError):
    """The provider refused the credentials or the connection shape. Not retried."""


class ModelProtocolError(ModelError):
    """The provider sent something this client cannot follow. Not retried."""


class ModelConnectionError(ModelError):
    """The connection dropped or must be renewed; a new one can continue."""

    restartable = True

    def __init__(
        self, message: str, *, code: str | None = None, reason: str = "connection_lost"
    ) -> None:
        super().__init__(message, code=code)
        #: short machine-readable reason, reported in ``BidiConnectionRestartEvent``
        self.reason = reason


class ModelTimeoutError(ModelConnectionError):
    """The client-side connection lifetime (``timeout_s``) came due."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code, reason="timeout")


class ModelRetriesExhaustedError(ModelConnectionError):
    """The agent gave up reconnecting (see :class:`~fullduplex.retry.RetryPolicy`).

    The last connection failure is chained as ``__cause__``; ``attempts`` is
    the number of reconnects tried in the series that failed.
    """

    restartable = False

    def __init__(self, message: str, *, code: str | None = None, attempts: int = 0) -> None:
        super().__init__(message, code=code, reason="gave_up")
        self.attempts = attempts


class IOChannelError(FullDuplexError):
    """An input or output channel failed (no sound device, unreadable file, ...)."""
