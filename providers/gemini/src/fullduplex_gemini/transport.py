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
from collections.abc import MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from fullduplex.errors import (
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelProtocolError,
)
from fullduplex.redaction import redact

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

logger = logging.getLogger("fullduplex_gemini.transport")

_SECRET_HEADERS: Final = frozenset({"authorization", "x-goog-api-key"})
CLOSE_TIMEOUT_S: Final = 2.0
STOP_CLOSE_TIMEOUT_S: Final = 0.25


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


class _RedactingLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs handshake headers at DEBUG: never let the key through."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if len(args) == 2 and isinstance(args[0], str) and args[0].lower() in _SECRET_HEADERS:
            args = (args[0], "<redacted>")
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


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
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

    try:
        return await ws_connect(
            url,
            additional_headers=list(headers),
            compression=None,
            max_size=max_size,
            open_timeout=open_timeout,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            close_timeout=CLOSE_TIMEOUT_S,
            logger=_RedactingLogger(logging.getLogger("fullduplex_gemini.websockets")),
        )
    except InvalidStatus as exc:
        response = exc.response
        body = response.body.decode("utf-8", "replace") if response.body else ""
        raise _status_error(response.status_code, body, secrets) from exc
    except InvalidURI as exc:
        raise ModelProtocolError(f"invalid websocket URL {url!r}: {exc}") from exc
    except InvalidHandshake as exc:
        raise ModelProtocolError(
            redact(f"the websocket handshake with {url} failed: {exc}", *secrets)
        ) from exc
    except TimeoutError as exc:
        raise ModelConnectionError(
            f"could not connect to {url} within {open_timeout:g} s", code="connect_timeout"
        ) from exc
    except OSError as exc:
        raise ModelConnectionError(
            f"could not connect to {url}: {exc.strerror or exc}", code="connect_failed"
        ) from exc
