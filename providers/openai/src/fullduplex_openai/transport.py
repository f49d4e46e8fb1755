"""The websockets side of the connection: open it, and map its failures.

Why a separate module: the protocol rules live in :mod:`.protocol` and never
touch a socket; this module only knows how to open a GA Realtime websocket
(headers, no beta header, no compression, the configured keepalive and frame
size cap) and how to turn
websockets' exceptions and close codes into fullduplex errors a person can act
on. ``websockets`` is imported here, on first connect, so ``import
fullduplex_openai`` stays light.

Every message built from server text (an HTTP body, a close reason) passes
through :func:`fullduplex.redaction.redact` with the connection's key: a proxy
that echoes the ``Authorization`` header must not put the key in ``str(exc)``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

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

logger = logging.getLogger("fullduplex_openai.transport")

_SECRET_HEADERS = frozenset({"authorization", "api-key", "sec-websocket-protocol"})


def close_error(
    code: int | None, reason: str, *, during: str = "receive", secrets: Sequence[str] = ()
) -> ModelError:
    """The fullduplex error for a websocket the server closed with ``code``.

    A close the client did not ask for is a restartable loss
    (``code="closed_by_server"``, also for 1000), except when the code says
    the credentials or the connection shape were refused.
    """
    reason = redact(reason, *secrets)
    detail = f"close code {code}" + (f": {reason}" if reason else "")
    if code == 4000:
        return ModelAuthenticationError(
            f"the server refused the connection shape ({detail}); this client speaks the "
            "GA protocol, so check that no proxy adds the 'OpenAI-Beta' header",
            code="beta_api_shape_disabled",
        )
    if code in (1008, 4001, 4003):
        return ModelAuthenticationError(
            f"the server refused the credentials ({detail}); check client_config['api_key'] "
            "or the OPENAI_API_KEY environment variable",
            code="unauthorized",
        )
    if code == 1001:
        return ModelConnectionError(
            f"the server ended the session ({detail})",
            code="closed_by_server",
            reason="session_expired",
        )
    if code == 1011:
        return ModelConnectionError(
            f"the server failed ({detail})", code="closed_by_server", reason="server_error"
        )
    return ModelConnectionError(
        f"the server closed the connection during {during} ({detail})", code="closed_by_server"
    )


def frame_too_big_error(limit: int) -> ModelProtocolError:
    """The error for an incoming message over ``client_config['max_frame_bytes']``."""
    return ModelProtocolError(
        f"the server sent a message larger than client_config['max_frame_bytes'] = {limit} "
        "bytes; the connection was closed (raise the limit if the server is trusted)",
        code="frame_too_big",
    )


def _status_error(status: int, body: str, secrets: Sequence[str] = ()) -> ModelError:
    body = redact(body.strip()[:300], *secrets)
    hint = f" ({body[:200]})" if body else ""
    if status in (401, 403):
        return ModelAuthenticationError(
            f"the server refused the handshake with HTTP {status}{hint}: the API key is wrong, "
            "expired, or has no access to the Realtime API; check client_config['api_key'] or "
            "the OPENAI_API_KEY environment variable",
            code="unauthorized" if status == 401 else "forbidden",
        )
    if status in (400, 404):
        return ModelProtocolError(
            f"the server refused the handshake with HTTP {status}{hint}: check model_id and "
            "client_config base_url / websocket_base_url / azure_endpoint",
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
    ping_interval: float | None = 20.0,
    ping_timeout: float | None = 20.0,
    max_size: int | None = None,
    secrets: Sequence[str] = (),
) -> ClientConnection:
    """Open the websocket; raise a fullduplex error with a cause chained on failure.

    ``secrets`` (the key) are redacted from every message built from what the
    server answered.
    """
    return await open_websocket(
        url,
        headers,
        open_timeout=open_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_size=max_size,
        logger_name="fullduplex_openai.websockets",
        secret_headers=_SECRET_HEADERS,
        status_error=_status_error,
        secrets=secrets,
    )
