"""The websockets side of a Live connection: open it, and map how it ends.

The service reports every error as a close frame (a code and a short reason,
at most 123 bytes), never as a JSON message, so this mapping is the provider's
whole error handling: 1007 (invalid argument) and 1008 (policy: unknown model,
wrong API, unknown session) are :class:`GeminiSetupError` s carrying the
server's reason and are not retried; 1011 (internal error, quota, the deadline
after ``goAway``) and drops without a close frame are restartable. The key is
redacted from anything built from server text, and from websockets' debug log.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from fullduplex.errors import (
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelProtocolError,
)
from fullduplex.redaction import redact
from fullduplex.websocket_client import open_websocket

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

logger = logging.getLogger("fullduplex_gemini.transport")

_SECRET_HEADERS: Final = frozenset({"authorization", "x-goog-api-key"})


class GeminiSetupError(ModelProtocolError):
    """The service closed the connection with 1007 or 1008: a bad setup, model or message.

    ``close_code`` and ``server_reason`` are what the server sent; a reconnect
    with the same setup would fail the same way, so it is not retried.
    """

    def __init__(self, message: str, *, close_code: int, server_reason: str, code: str) -> None:
        super().__init__(message, code=code)
        self.close_code = close_code
        self.server_reason = server_reason


class GeminiAuthenticationError(ModelAuthenticationError):
    """The service refused the credentials (a 1007 about the key, or HTTP 401/403)."""

    def __init__(self, message: str, *, close_code: int | None, server_reason: str) -> None:
        super().__init__(message, code="invalid_api_key")
        self.close_code = close_code
        self.server_reason = server_reason


def close_error(
    code: int | None, reason: str, *, during: str = "receive", secrets: Sequence[str] = ()
) -> ModelError:
    """The fullduplex error for a close the client did not ask for."""
    reason = redact(reason, *secrets)
    detail = f"close code {code}" + (f": {reason}" if reason else "")
    if code == 1007:
        lowered = reason.lower()
        if "api key" in lowered or "credential" in lowered or "permission" in lowered:
            return GeminiAuthenticationError(
                f"the service refused the credentials ({detail}); check client_config['api_key'] "
                "or GEMINI_API_KEY / GOOGLE_API_KEY",
                close_code=code,
                server_reason=reason,
            )
        return GeminiSetupError(
            f"the service refused the setup or a message as invalid ({detail})",
            close_code=code,
            server_reason=reason,
            code="invalid_argument",
        )
    if code == 1008:
        return GeminiSetupError(
            f"the service refused the request ({detail}); check the model_id against the "
            "API (Developer API or Vertex AI) and its version",
            close_code=code,
            server_reason=reason,
            code="policy_violation",
        )
    if code == 1011:
        expired = "deadline" in reason.lower()
        return ModelConnectionError(
            f"the service {'ended the connection' if expired else 'failed'} ({detail})",
            code="closed_by_server",
            reason="session_expired" if expired else "server_error",
        )
    if code == 1001:
        return ModelConnectionError(
            f"the service ended the session ({detail})",
            code="closed_by_server",
            reason="session_expired",
        )
    return ModelConnectionError(
        f"the server closed the connection during {during} ({detail})", code="closed_by_server"
    )


def frame_too_big_error(limit: int) -> ModelProtocolError:
    """The error for an incoming message over ``client_config['max_frame_bytes']``."""
    return ModelProtocolError(
        f"the server sent a message larger than client_config['max_frame_bytes'] = {limit} bytes",
        code="frame_too_big",
    )


def _status_error(status: int, body: str, secrets: Sequence[str]) -> ModelError:
    body = redact(body.strip()[:300], *secrets)
    hint = f" ({body[:200]})" if body else ""
    if status in (401, 403):
        return GeminiAuthenticationError(
            f"the server refused the handshake with HTTP {status}{hint}: check "
            "client_config['api_key'] or GEMINI_API_KEY / GOOGLE_API_KEY",
            close_code=None,
            server_reason=body,
        )
    if status in (400, 404):
        return ModelProtocolError(
            f"the server refused the handshake with HTTP {status}{hint}: check "
            "client_config base_url and api_version",
            code="bad_request" if status == 400 else "not_found",
        )
    return ModelConnectionError(
        f"the server refused the handshake with HTTP {status}{hint}", code=f"http_{status}"
    )


async def connect(
    url: str,
    headers: Sequence[tuple[str, str]],
    *,
    open_timeout: float,
    ping_interval: float | None,
    ping_timeout: float | None,
    max_size: int | None,
    secrets: Sequence[str] = (),
) -> ClientConnection:
    """Open the websocket; raise a fullduplex error with the cause chained on failure."""
    return await open_websocket(
        url,
        headers,
        open_timeout=open_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_size=max_size,
        logger_name="fullduplex_gemini.websockets",
        secret_headers=_SECRET_HEADERS,
        status_error=_status_error,
        secrets=secrets,
    )
