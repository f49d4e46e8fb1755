"""The server's ``error`` events that end the conversation, mapped to fullduplex errors.

Kept apart from the handlers because it is a table, not state: credentials,
model, the session's refusal of our configuration, the beta shape, and the
session cap each become the library's own exception, with a message that
says what to check. Everything else is reported and the conversation goes on.
"""

from __future__ import annotations

from fullduplex.errors import (
    ConfigurationError,
    FullDuplexError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelProtocolError,
)

from .shapes import AUTH_CODES, MODEL_CODES, SESSION_EVENT_ID


def fatal_error(
    *,
    code: str | None,
    kind: str | None,
    message: str,
    param: str | None,
    event_id: object,
    model_id: str,
) -> FullDuplexError | None:
    """The exception for an error the server means as fatal, else ``None``."""
    if code == "beta_api_shape_disabled":
        return ModelAuthenticationError(
            "the server refused the beta Realtime protocol shape; this client speaks GA "
            f"only, so a proxy in between may be adding the beta header ({message})",
            code=code,
        )
    if code in AUTH_CODES or kind in ("authentication_error", "permission_error"):
        return ModelAuthenticationError(
            f"the API key was refused ({message}); check client_config['api_key'] "
            "or the OPENAI_API_KEY environment variable",
            code=code,
        )
    if code in MODEL_CODES:
        return ModelProtocolError(
            f"model {model_id!r} is not available ({message}); check model_id",
            code=code,
        )
    if code == "session_expired":
        return ModelConnectionError(
            f"the session reached the server's maximum duration ({message})",
            code=code,
            reason="session_expired",
        )
    if event_id == SESSION_EVENT_ID:
        return ConfigurationError(
            f"provider_config: the server refused the session configuration: {message}"
            + (f" (field {param})" if param else "")
        )
    return None
